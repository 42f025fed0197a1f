import { validateLabelsAndAnnotations } from '../validation/object-meta';
import { FEDERATION_GROUP, MANAGED_BY_LABEL } from './constants';
import { builtinKind } from './builtin-kinds';
import { Causes, isObject, type Json } from './causes';
import { CLUSTER_FEDERATED_OBJECT_KIND, FEDERATED_OBJECT_KIND, type FederatedKindInfo } from './kinds';

const API_VERSION = /^(?:([a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*)\/)?(v[1-9][0-9]*(?:(?:alpha|beta)[1-9][0-9]*)?)$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Where the template's identity comes from, for the messages. */
const generic = (info: FederatedKindInfo) => !info.target;

/** Checks spec.template: apiVersion and kind, metadata consistent with the federated object, and data maps. */
export function validateTemplate(info: FederatedKindInfo, template: Json, name: string | undefined, namespace: string | undefined, causes: Causes): void {
  const placed = generic(info) ? genericTarget(info, template, causes) : impliedTarget(info, template, causes);
  validateTemplateMetadata(info, template.metadata, name, namespace, placed?.namespaced, causes);
  if (info.target?.kind === 'Secret') {
    dataMap(template.data, 'spec.template.data', true, true, causes);
    dataMap(template.stringData, 'spec.template.stringData', false, true, causes);
    if (template.type !== undefined && typeof template.type !== 'string') causes.invalid('spec.template.type', template.type, 'must be a string, e.g. Opaque');
  } else if (info.target?.kind === 'ConfigMap') {
    dataMap(template.data, 'spec.template.data', false, false, causes);
    dataMap(template.binaryData, 'spec.template.binaryData', true, false, causes);
  }
}

/** kubefed kinds: the template may repeat its apiVersion and kind, but only as the federated kind implies them. */
function impliedTarget(info: FederatedKindInfo, template: Json, causes: Causes): { namespaced: boolean } {
  const target = info.target!;
  for (const [key, want] of [['apiVersion', target.apiVersion], ['kind', target.kind]] as const) {
    const v = template[key];
    if (v !== undefined && v !== want) {
      causes.invalid(`spec.template.${key}`, v, `a ${info.kind} places ${target.apiVersion} ${target.kind}: remove spec.template.${key} or write "${want}"`);
    }
  }
  return { namespaced: target.namespaced };
}

/** FederatedObject / ClusterFederatedObject: the template names its kind; built-in groups are checked against what they serve. */
function genericTarget(info: FederatedKindInfo, template: Json, causes: Causes): { namespaced: boolean } | undefined {
  const { apiVersion, kind } = template;
  const example = info.namespaced ? 'e.g. apiVersion: apps/v1 with kind: Deployment' : 'e.g. apiVersion: rbac.authorization.k8s.io/v1 with kind: ClusterRole';
  let ok = true;
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    causes.required('spec.template.apiVersion', `a ${info.kind}'s template names the apiVersion of what it places, ${example}`);
    ok = false;
  } else if (apiVersion.length > 317 || !API_VERSION.test(apiVersion)) {
    causes.invalid('spec.template.apiVersion', apiVersion, 'must be "<version>" (the core group, e.g. "v1") or "<group>/<version>", e.g. "apps/v1" or "example.com/v1alpha1"');
    ok = false;
  }
  if (typeof kind !== 'string' || kind === '') {
    causes.required('spec.template.kind', `a ${info.kind}'s template names the kind it places, ${example}`);
    ok = false;
  } else if (kind.length > 100 || !KIND.test(kind)) {
    causes.invalid('spec.template.kind', kind, 'must be a kind in CamelCase, starting with an upper-case letter, e.g. "Deployment"');
    ok = false;
  }
  if (!ok) return undefined;
  const found = builtinKind(apiVersion as string, kind as string);
  if (!found.known) return undefined;
  const groupName = found.group === '' ? 'the core API group' : `the API group "${found.group}"`;
  if (!found.versionServed) {
    causes.notSupported('spec.template.apiVersion', apiVersion, found.versions.map((v) => (found.group ? `${found.group}/${v}` : v)), `${groupName} serves these versions`);
  }
  if (!found.kind) {
    const near = found.kinds.find((k) => k.kind.toLowerCase() === (kind as string).toLowerCase() || k.plural === (kind as string).toLowerCase());
    const hint = near ? `did you mean "${near.kind}"?` : `its kinds are ${found.kinds.map((k) => k.kind).join(', ')}`;
    causes.invalid('spec.template.kind', kind, `${groupName} has no kind "${kind as string}": ${hint}`);
    return undefined;
  }
  const k = found.kind;
  if (found.group === '' && k.kind === 'Secret') {
    causes.forbidden('spec.template.kind', 'a Secret holds credentials: place it with a FederatedSecret (types.kubefed.io/v1beta1), whose data is encrypted at rest and never returned');
  } else if (found.group === '' && k.kind === 'Namespace') {
    causes.forbidden('spec.template.kind', 'place a namespace with a FederatedNamespace (types.kubefed.io/v1beta1) named after it, in that namespace: the objects in it follow its placement');
  } else if (k.namespaced && !info.namespaced) {
    causes.invalid('spec.template.kind', kind, `${k.kind} is namespaced: place it with a ${FEDERATED_OBJECT_KIND} (types.flotilla.io/v1alpha1) in its namespace, not a ${CLUSTER_FEDERATED_OBJECT_KIND}`);
  } else if (!k.namespaced && info.namespaced) {
    causes.invalid('spec.template.kind', kind, `${k.kind} is cluster-scoped: place it with a ${CLUSTER_FEDERATED_OBJECT_KIND} (types.flotilla.io/v1alpha1), not a namespaced ${FEDERATED_OBJECT_KIND}`);
  }
  return { namespaced: k.namespaced };
}

function validateTemplateMetadata(info: FederatedKindInfo, metadata: unknown, name: string | undefined, namespace: string | undefined, placedNamespaced: boolean | undefined, causes: Causes): void {
  const field = 'spec.template.metadata';
  if (metadata === undefined || metadata === null) return;
  if (!isObject(metadata)) {
    causes.invalid(field, metadata, 'must be an object {labels, annotations}');
    return;
  }
  if (metadata.name !== undefined && metadata.name !== name) {
    causes.invalid(`${field}.name`, metadata.name, `a member object takes the federated object's name: remove ${field}.name or write "${name ?? ''}"`);
  }
  const ns = metadata.namespace;
  if (ns !== undefined && ns !== null && ns !== '') {
    const clusterScoped = placedNamespaced === false || (placedNamespaced === undefined && !info.namespaced);
    if (clusterScoped) causes.forbidden(`${field}.namespace`, `${info.target?.kind ?? 'the placed kind'} is cluster-scoped: remove ${field}.namespace`);
    else if (ns !== namespace) causes.invalid(`${field}.namespace`, ns, `a member object is placed in the federated object's namespace: remove ${field}.namespace or write "${namespace ?? ''}"`);
  }
  for (const key of ['ownerReferences', 'generateName']) {
    if (metadata[key] !== undefined && metadata[key] !== null) {
      const why = key === 'ownerReferences' ? 'owners are objects of one cluster (their uids differ in every member)' : "a member object takes the federated object's name";
      causes.forbidden(`${field}.${key}`, `${why}: remove it`);
    }
  }
  const { labels, annotations } = validateLabelsAndAnnotations(metadata, {
    invalid: (f, v, why) => causes.invalid(`spec.template.${f}`, v, why),
    tooLong: (f, max) => causes.tooLong(`spec.template.${f}`, `must have at most ${max}`),
  });
  if (labels && Object.hasOwn(labels, MANAGED_BY_LABEL)) causes.forbidden(`${field}.labels[${MANAGED_BY_LABEL}]`, 'Flotilla sets this label on member objects: remove it');
  for (const key of Object.keys(annotations ?? {})) {
    if (key.startsWith(`${FEDERATION_GROUP}/`)) causes.forbidden(`${field}.annotations[${key}]`, `Flotilla sets annotations under ${FEDERATION_GROUP}/ on member objects: remove it`);
  }
}

/** A ConfigMap's or Secret's data: keys as Kubernetes allows them, string values (base64 where binary). Secret values are never echoed. */
function dataMap(value: unknown, field: string, base64: boolean, secret: boolean, causes: Causes): void {
  if (value === undefined || value === null) return;
  if (!isObject(value)) {
    causes.invalid(field, secret ? '(redacted)' : value, 'must be an object of keys to string values');
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    if (key.length > 253 || !DATA_KEY.test(key)) causes.invalid(field, key, "a key must consist of alphanumeric characters, '-', '_' or '.', at most 253 of them");
    const bad = typeof v !== 'string' ? 'must be a string' : base64 && (v.length % 4 !== 0 || !BASE64.test(v)) ? `must be base64-encoded (or put plain text in ${secret ? 'stringData' : 'data'})` : undefined;
    if (!bad) continue;
    if (secret) causes.invalidSecret(`${field}[${key}]`, bad);
    else causes.invalid(`${field}[${key}]`, v, bad);
  }
}
