import { ClusterErrors } from '../errors/cluster-errors';
import { ErrorCause } from '../errors/flotilla-error';
import { CLUSTER_API_VERSION, CLUSTER_KIND, Cluster, ClusterSpec, Connection, ConnectionType, ManagedFieldsEntry, ObjectMeta } from './cluster';
import { validateLabelsAndAnnotations } from '../validation/object-meta';
import { dns1123LabelErrors, qualifiedNameErrors } from './names';

export const MAX_KUBECONFIG_BYTES = 1024 * 1024;
const MAX_DESCRIPTION_CHARS = 4096;
/** metadata.managedFields as JSON: a Cluster's field paths take a few KiB; this bounds what is stored and sent. */
export const MAX_MANAGED_FIELDS_BYTES = 64 * 1024;
/** kube-apiserver's limit on a field manager's name. */
const MAX_MANAGER_CHARS = 128;
/** FieldsV1 nests as deep as the object; a Cluster is shallow. */
const MAX_FIELDS_V1_DEPTH = 16;
const MANAGED_ENTRY_FIELDS = ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1', 'subresource'];

/** Fields a client may write; anything else is unknown (dropped with a warning, or refused under Strict field validation). */
const KNOWN_FIELDS: Record<string, readonly string[]> = {
  '': ['apiVersion', 'kind', 'metadata', 'spec', 'status'],
  metadata: [
    'name', 'uid', 'labels', 'annotations', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp',
    'deletionGracePeriodSeconds', 'finalizers', 'managedFields', 'ownerReferences', 'generateName', 'selfLink', 'namespace',
  ],
  spec: ['provider', 'description', 'joinFederation', 'externalKubeAPIEnabled', 'connection', 'enable'],
  'spec.connection': ['type', 'kubernetesAPIEndpoint', 'kubeconfig', 'token', 'kubernetesAPIServerPort', 'kubeSphereAPIEndpoint'],
};

export interface ValidatedCluster {
  cluster: Cluster;
  /** Paths of fields that are not part of the Cluster schema. */
  unknownFields: string[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Causes {
  readonly list: ErrorCause[] = [];
  required(field: string, what = 'Required value'): void {
    this.list.push({ reason: 'FieldValueRequired', message: what, field });
  }
  invalid(field: string, value: unknown, why: string): void {
    const shown = typeof value === 'string' ? `"${value.length > 80 ? `${value.slice(0, 80)}...` : value}"` : JSON.stringify(value);
    this.list.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${shown}: ${why}`, field });
  }
  /** Like invalid, for secret fields: never echoes the value. */
  invalidSecret(field: string, why: string): void {
    this.list.push({ reason: 'FieldValueInvalid', message: `Invalid value: (redacted): ${why}`, field });
  }
  notSupported(field: string, value: unknown, supported: readonly string[]): void {
    this.list.push({
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
      field,
    });
  }
  forbidden(field: string, why: string): void {
    this.list.push({ reason: 'FieldValueForbidden', message: `Forbidden: ${why}`, field });
  }
  tooLong(field: string, max: string): void {
    this.list.push({ reason: 'FieldValueTooLong', message: `Too long: must have at most ${max}`, field });
  }
}

function collectUnknown(value: unknown, path: string, out: string[]): void {
  const known = KNOWN_FIELDS[path];
  if (!known || !isObject(value)) return;
  for (const key of Object.keys(value)) {
    const childPath = path ? `${path}.${key}` : key;
    if (!known.includes(key)) out.push(childPath);
    else collectUnknown(value[key], childPath, out);
  }
}

function optionalString(value: unknown, field: string, causes: Causes): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    causes.invalid(field, value, 'must be a string');
    return undefined;
  }
  return value;
}

function optionalBoolean(value: unknown, field: string, causes: Causes): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') {
    causes.invalid(field, value, 'must be a boolean');
    return undefined;
  }
  return value;
}

/**
 * Kubeconfigs arrive either as YAML text or base64-encoded, as in KubeSphere's Cluster
 * (a []byte field). Base64 is recognised by its alphabet; YAML always has ':' or spaces.
 */
export function decodeKubeconfig(value: string): string {
  const compact = value.replace(/\s+/g, '');
  if (compact.length > 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(compact) && compact.length % 4 === 0) {
    const decoded = Buffer.from(compact, 'base64').toString('utf8');
    if (!decoded.includes('\uFFFD')) return decoded;
  }
  return value;
}

function validateMetadata(value: unknown, causes: Causes, mode: 'create' | 'update'): ObjectMeta {
  if (!isObject(value)) {
    causes.required('metadata');
    return { name: '' };
  }
  const meta: ObjectMeta = { name: '' };
  if (value.name === undefined || value.name === null || value.name === '') {
    causes.required('metadata.name', 'Required value: name is required');
  } else if (typeof value.name !== 'string') {
    causes.invalid('metadata.name', value.name, 'must be a string');
  } else {
    for (const e of dns1123LabelErrors(value.name)) causes.invalid('metadata.name', value.name, e);
    meta.name = value.name;
  }
  const { labels, annotations } = validateLabelsAndAnnotations(value, causes);
  if (labels) meta.labels = labels;
  if (annotations) meta.annotations = annotations;
  if (value.finalizers !== undefined && value.finalizers !== null) {
    if (!Array.isArray(value.finalizers) || value.finalizers.some((f) => typeof f !== 'string')) {
      causes.invalid('metadata.finalizers', value.finalizers, 'must be a list of strings');
    } else {
      value.finalizers.forEach((f: string, i: number) => {
        for (const e of qualifiedNameErrors(f)) causes.invalid(`metadata.finalizers[${i}]`, f, e);
      });
      meta.finalizers = [...new Set(value.finalizers as string[])];
    }
  }
  if (value.resourceVersion !== undefined && value.resourceVersion !== null && value.resourceVersion !== '') {
    if (typeof value.resourceVersion !== 'string') causes.invalid('metadata.resourceVersion', value.resourceVersion, 'must be a string');
    else if (mode === 'create') causes.forbidden('metadata.resourceVersion', 'must be empty when creating an object');
    else meta.resourceVersion = value.resourceVersion;
  }
  if (typeof value.uid === 'string' && value.uid !== '' && mode === 'update') meta.uid = value.uid;
  const managedFields = validateManagedFields(value.managedFields, causes);
  if (managedFields) meta.managedFields = managedFields;
  return meta;
}

/** FieldsV1: an object whose keys are "." or f:/k:/v:/i: path elements, each holding another such object. */
function fieldsV1Error(value: unknown, depth: number): string | undefined {
  if (!isObject(value)) return 'must be an object of field paths (FieldsV1)';
  if (depth > MAX_FIELDS_V1_DEPTH) return `nests deeper than ${MAX_FIELDS_V1_DEPTH} levels`;
  for (const [key, child] of Object.entries(value)) {
    if (key !== '.' && !/^[fkvi]:/.test(key)) return `has the key ${JSON.stringify(key.slice(0, 40))}: each key is ".", or a path element starting with f:, k:, v: or i:`;
    const error = fieldsV1Error(child, depth + 1);
    if (error) return error;
  }
  return undefined;
}

/**
 * metadata.managedFields (server-side apply's field ownership): a list of entries naming a manager,
 * its operation (Apply or Update), the apiVersion and its field paths (FieldsV1). An empty entry
 * ({}) is dropped, so [{}] clears the list, as in Kubernetes. Bounded to MAX_MANAGED_FIELDS_BYTES.
 */
function validateManagedFields(value: unknown, causes: Causes): ManagedFieldsEntry[] | undefined {
  if (value === undefined || value === null) return undefined;
  const field = 'metadata.managedFields';
  if (!Array.isArray(value)) {
    causes.invalid(field, typeof value, 'must be a list of entries (manager, operation, apiVersion, time, fieldsType, fieldsV1)');
    return undefined;
  }
  const size = Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (size > MAX_MANAGED_FIELDS_BYTES) {
    causes.tooLong(field, `${MAX_MANAGED_FIELDS_BYTES} bytes as JSON (it has ${size}); apply fewer fields per manager, or clear the list with [{}]`);
    return undefined;
  }
  const out: ManagedFieldsEntry[] = [];
  value.forEach((entry: unknown, i: number) => {
    const at = `${field}[${i}]`;
    if (!isObject(entry)) return causes.invalid(at, typeof entry, 'must be an object');
    if (Object.keys(entry).length === 0) return;
    const unknown = Object.keys(entry).filter((k) => !MANAGED_ENTRY_FIELDS.includes(k));
    if (unknown.length > 0) return causes.invalid(at, unknown.join(','), `unknown fields: an entry holds ${MANAGED_ENTRY_FIELDS.join(', ')}`);
    const { manager, operation, apiVersion, time, fieldsType, fieldsV1, subresource } = entry;
    if (typeof manager !== 'string' || manager === '' || manager.length > MAX_MANAGER_CHARS || /[\x00-\x1f\x7f]/.test(manager)) {
      return causes.invalid(`${at}.manager`, typeof manager === 'string' ? manager : manager ?? null, `must name the manager: printable, 1 to ${MAX_MANAGER_CHARS} characters`);
    }
    if (operation !== 'Apply' && operation !== 'Update') return causes.notSupported(`${at}.operation`, operation ?? null, ['Apply', 'Update']);
    if (typeof apiVersion !== 'string' || apiVersion === '' || apiVersion.length > 256) return causes.invalid(`${at}.apiVersion`, apiVersion ?? null, 'must be the group/version the manager wrote, e.g. "cluster.kubesphere.io/v1alpha1"');
    if (time !== undefined && (typeof time !== 'string' || Number.isNaN(Date.parse(time)))) return causes.invalid(`${at}.time`, time, 'must be an RFC 3339 time');
    if (subresource !== undefined && (typeof subresource !== 'string' || subresource.length > 64)) return causes.invalid(`${at}.subresource`, subresource, 'must be a subresource name');
    if (fieldsV1 !== undefined) {
      if (fieldsType !== 'FieldsV1') return causes.notSupported(`${at}.fieldsType`, fieldsType ?? null, ['FieldsV1']);
      const error = fieldsV1Error(fieldsV1, 0);
      if (error) return causes.invalid(`${at}.fieldsV1`, '(field paths)', error);
    } else if (fieldsType !== undefined && fieldsType !== 'FieldsV1') return causes.notSupported(`${at}.fieldsType`, fieldsType, ['FieldsV1']);
    out.push({
      manager,
      operation,
      apiVersion,
      ...(typeof time === 'string' ? { time } : {}),
      ...(fieldsV1 !== undefined ? { fieldsType: 'FieldsV1', fieldsV1: fieldsV1 as Record<string, unknown> } : {}),
      ...(typeof subresource === 'string' && subresource !== '' ? { subresource } : {}),
    });
  });
  return out;
}

/**
 * metadata.managedFields as it travels between the services (JSON of the list): '' is unset
 * (undefined); anything else is parsed and checked as validateClusterInput checks it.
 */
export function parseManagedFieldsJson(text: string | undefined, name: string): ManagedFieldsEntry[] | undefined {
  if (text === undefined || text === '') return undefined;
  const causes = new Causes();
  if (Buffer.byteLength(text, 'utf8') > MAX_MANAGED_FIELDS_BYTES) {
    causes.tooLong('metadata.managedFields', `${MAX_MANAGED_FIELDS_BYTES} bytes as JSON`);
    throw ClusterErrors.invalid(name, causes.list);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    causes.invalid('metadata.managedFields', '(text)', 'must be JSON of the list of entries');
    throw ClusterErrors.invalid(name, causes.list);
  }
  const entries = validateManagedFields(parsed, causes) ?? [];
  if (causes.list.length > 0) throw ClusterErrors.invalid(name, causes.list);
  return entries;
}

function validateConnection(value: unknown, causes: Causes, mode: 'create' | 'update'): Connection {
  const field = 'spec.connection';
  if (!isObject(value)) {
    causes.required(field, 'Required value: the connection (type direct with a kubeconfig, or type proxy for an agent) is required');
    return { type: '' };
  }
  const types = Object.values(ConnectionType) as string[];
  const connection: Connection = { type: '' };
  if (value.type === undefined || value.type === null || value.type === '') {
    causes.required(`${field}.type`, 'Required value: set "direct" (the host reaches the member with a kubeconfig) or "proxy" (an agent in the member dials out)');
  } else if (typeof value.type !== 'string' || !types.includes(value.type)) {
    causes.notSupported(`${field}.type`, value.type, types);
  } else {
    connection.type = value.type;
  }
  const endpoint = optionalString(value.kubernetesAPIEndpoint, `${field}.kubernetesAPIEndpoint`, causes);
  if (endpoint !== undefined && endpoint !== '') {
    let ok = false;
    try {
      const url = new URL(endpoint);
      ok = url.protocol === 'https:' || url.protocol === 'http:';
    } catch {
      ok = false;
    }
    if (!ok) causes.invalid(`${field}.kubernetesAPIEndpoint`, endpoint, 'must be an absolute https:// URL, e.g. https://203.0.113.10:6443');
    else connection.kubernetesAPIEndpoint = endpoint;
  }
  if (value.kubeconfig !== undefined && value.kubeconfig !== null && value.kubeconfig !== '') {
    if (typeof value.kubeconfig !== 'string') {
      causes.invalidSecret(`${field}.kubeconfig`, 'must be a string: the kubeconfig YAML, or that YAML base64-encoded');
    } else {
      const decoded = decodeKubeconfig(value.kubeconfig);
      if (Buffer.byteLength(decoded, 'utf8') > MAX_KUBECONFIG_BYTES) causes.tooLong(`${field}.kubeconfig`, '1 MiB');
      else connection.kubeconfig = decoded;
    }
  }
  if (value.token !== undefined && value.token !== null && value.token !== '') {
    if (typeof value.token !== 'string') causes.invalidSecret(`${field}.token`, 'must be a string');
    else if (value.token.length > 16 * 1024) causes.tooLong(`${field}.token`, '16384 characters');
    else connection.token = value.token;
  }
  if (mode === 'create' && connection.type === ConnectionType.Direct && !connection.kubeconfig) {
    causes.required(`${field}.kubeconfig`, 'Required value: a direct connection needs the member\'s kubeconfig (YAML text or base64)');
  }
  return connection;
}

function validateSpec(value: unknown, causes: Causes, mode: 'create' | 'update'): ClusterSpec {
  if (!isObject(value)) {
    causes.required('spec');
    return { connection: { type: '' } };
  }
  const spec: ClusterSpec = { connection: validateConnection(value.connection, causes, mode) };
  const provider = optionalString(value.provider, 'spec.provider', causes);
  if (provider !== undefined && provider !== '') {
    for (const e of dns1123LabelErrors(provider)) causes.invalid('spec.provider', provider, `${e}; known providers are kubeadm, aliyun-ack, aws-eks and generic`);
    spec.provider = provider;
  }
  const description = optionalString(value.description, 'spec.description', causes);
  if (description !== undefined) {
    if (description.length > MAX_DESCRIPTION_CHARS) causes.tooLong('spec.description', `${MAX_DESCRIPTION_CHARS} characters`);
    spec.description = description;
  }
  const joinFederation = optionalBoolean(value.joinFederation, 'spec.joinFederation', causes);
  if (joinFederation !== undefined) spec.joinFederation = joinFederation;
  const external = optionalBoolean(value.externalKubeAPIEnabled, 'spec.externalKubeAPIEnabled', causes);
  if (external !== undefined) spec.externalKubeAPIEnabled = external;
  return spec;
}

/**
 * Validates a Cluster written by a client. Status is ignored: it belongs to the platform
 * (a status subresource). Throws an Invalid or BadRequest FlotillaError naming every bad field.
 */
export function validateClusterInput(input: unknown, mode: 'create' | 'update'): ValidatedCluster {
  if (!isObject(input)) {
    throw ClusterErrors.badRequest('the request body must be a JSON (or YAML) object of kind Cluster');
  }
  if (input.apiVersion !== CLUSTER_API_VERSION || input.kind !== CLUSTER_KIND) {
    const causes: ErrorCause[] = [];
    if (input.apiVersion !== CLUSTER_API_VERSION) {
      causes.push({ reason: 'FieldValueInvalid', field: 'apiVersion', message: `must be "${CLUSTER_API_VERSION}"` });
    }
    if (input.kind !== CLUSTER_KIND) causes.push({ reason: 'FieldValueInvalid', field: 'kind', message: `must be "${CLUSTER_KIND}"` });
    throw ClusterErrors.badRequest(
      `the object has apiVersion ${JSON.stringify(input.apiVersion ?? '')} and kind ${JSON.stringify(input.kind ?? '')}; set apiVersion: ${CLUSTER_API_VERSION} and kind: ${CLUSTER_KIND}`,
      causes,
    );
  }
  const causes = new Causes();
  const metadata = validateMetadata(input.metadata, causes, mode);
  const spec = validateSpec(input.spec, causes, mode);
  if (causes.list.length > 0) throw ClusterErrors.invalid(metadata.name, causes.list);
  const unknownFields: string[] = [];
  collectUnknown(input, '', unknownFields);
  return { cluster: { apiVersion: CLUSTER_API_VERSION, kind: CLUSTER_KIND, metadata, spec }, unknownFields };
}
