import {
  any,
  ApplyConflictError,
  applyConfiguration,
  deepEqual,
  kindSchemaFromOpenApi,
  managedOnCreate,
  readManaged,
  recordUpdate,
  writeManaged,
  type JsonObject,
  type ManagedEntry,
  type Schema,
} from '@flotilla/apply';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { kindFields } from '../openapi/kube/kind-schemas';
import { META_SCHEMAS } from '../openapi/kube/meta-schemas';
import { ResourceKind, apiVersionOf } from './resource-kind';
import { Json, isObject } from './validation';

/**
 * Server-side apply (PATCH with Content-Type application/apply-patch+yaml) for the generic REST
 * layer's kinds, with the implementation the Kubernetes API emulator uses (@flotilla/apply): the
 * kind's apply schema comes from its OpenAPI schema (lists are atomic unless the schema keys them).
 */
export const APPLY_PATCH_TYPE = 'application/apply-patch+yaml';

/** kube-apiserver's limit on a fieldManager (ValidateFieldManager). */
const MAX_FIELD_MANAGER = 128;

/** What server-side apply needs to know of a kind (the generic layer's kinds, and Cluster, served by its own controller). */
export type ApplyKind = Pick<ResourceKind, 'group' | 'version' | 'kind' | 'plural' | 'namespaced'>;

export interface ApplyOptions {
  fieldManager: string;
  force: boolean;
}

export const isApplyPatch = (contentType: string | undefined) => (contentType ?? '').split(';')[0]!.trim().toLowerCase() === APPLY_PATCH_TYPE;

function patchOptionsInvalid(field: string, reason: string, message: string): FlotillaError {
  return new FlotillaError(ErrorReason.Invalid, `PatchOptions.meta.k8s.io "" is invalid: ${field}: ${message}`, {
    group: 'meta.k8s.io',
    kind: 'PatchOptions',
    causes: [{ reason, message, field }],
  });
}

/**
 * The PatchOptions of a request (ValidatePatchOptions): an apply needs a fieldManager (kubectl sends
 * "kubectl"; other clients must name themselves); force is only for applies. As kube-apiserver,
 * a missing fieldManager is 422 Invalid naming the field.
 */
export function parsePatchOptions(query: Record<string, unknown>, apply: boolean): ApplyOptions {
  const fieldManager = query.fieldManager;
  const force = query.force;
  if (fieldManager !== undefined && typeof fieldManager !== 'string') throw patchOptionsInvalid('fieldManager', 'FieldValueInvalid', 'Invalid value: must be given once, as a string');
  if (force !== undefined && typeof force !== 'string') throw patchOptionsInvalid('force', 'FieldValueInvalid', 'Invalid value: must be given once: true or false');
  // Every write's fieldManager is checked (kube's ValidateFieldManager); only an apply requires one.
  if (fieldManager) {
    if (fieldManager.length > MAX_FIELD_MANAGER) throw patchOptionsInvalid('fieldManager', 'FieldValueTooLong', `Too long: may not be more than ${MAX_FIELD_MANAGER} bytes`);
    if (/[\x00-\x1f\x7f]/.test(fieldManager)) throw patchOptionsInvalid('fieldManager', 'FieldValueInvalid', 'Invalid value: must only contain printable characters');
  }
  if (!apply) {
    if (force !== undefined) throw patchOptionsInvalid('force', 'FieldValueForbidden', 'Forbidden: may not be specified for non-apply patch');
    return { fieldManager: fieldManager ?? '', force: false };
  }
  if (!fieldManager) {
    throw patchOptionsInvalid('fieldManager', 'FieldValueRequired', 'Required value: is required for apply patch; name the client applying (kubectl sends --field-manager, default "kubectl")');
  }
  if (force !== undefined && force !== 'true' && force !== 'false') throw patchOptionsInvalid('force', 'FieldValueInvalid', `Invalid value: ${JSON.stringify(force.slice(0, 20))}: must be true or false`);
  return { fieldManager, force: force === 'true' };
}

const schemas = new Map<string, Schema>();
const resolveRef = (ref: string) => META_SCHEMAS[ref.replace(/^#\/components\/schemas\//, '')];

/** The apply schema of a kind: its top-level fields as the OpenAPI documents describe them (a kind without one: every field kept as written). */
export function applySchemaOf(kind: Pick<ResourceKind, 'group' | 'kind'>): Schema {
  const key = `${kind.group}/${kind.kind}`;
  let schema = schemas.get(key);
  if (!schema) {
    const fields = kindFields(kind.group, kind.kind);
    schema = fields ? kindSchemaFromOpenApi(fields, resolveRef) : any;
    schemas.set(key, schema);
  }
  return schema;
}

const metaOf = (o: Json): Json => (isObject(o.metadata) ? o.metadata : {});

/**
 * Checks the applied configuration against the URL (kube's wording): apiVersion and kind are
 * required and must be the kind's, metadata.name and namespace must match. Returns it with the
 * name (and namespace) filled in and no resourceVersion precondition left in it.
 */
export function applyConfigFor(kind: ApplyKind, name: string, namespace: string, body: unknown): { config: JsonObject; resourceVersion?: string } {
  if (!isObject(body)) throw new FlotillaError(ErrorReason.BadRequest, 'the apply patch must be an object: send the fields this manager sets, with apiVersion, kind and metadata.name');
  const apiVersion = apiVersionOf(kind);
  if (body.apiVersion === undefined || body.kind === undefined || body.apiVersion === '' || body.kind === '') {
    throw new FlotillaError(ErrorReason.BadRequest, `invalid object type: ${String(body.apiVersion ?? '')}, Kind=${String(body.kind ?? '')}: send apiVersion "${apiVersion}" and kind "${kind.kind}"`, {
      causes: [{ reason: 'FieldValueRequired', field: body.apiVersion ? 'kind' : 'apiVersion', message: 'Required value' }],
    });
  }
  if (body.apiVersion !== apiVersion || body.kind !== kind.kind) {
    throw new FlotillaError(ErrorReason.BadRequest, `the apiVersion and kind of the apply patch (${String(body.apiVersion)}, ${String(body.kind)}) do not match the URL (${apiVersion}, ${kind.kind})`);
  }
  const meta = metaOf(body);
  if (meta.name !== undefined && meta.name !== name) {
    throw new FlotillaError(ErrorReason.BadRequest, `the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`, {
      causes: [{ reason: 'FieldValueInvalid', field: 'metadata.name', message: `must be "${name}", the name on the URL` }],
    });
  }
  if (kind.namespaced && meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
    throw new FlotillaError(ErrorReason.BadRequest, 'the namespace of the provided object does not match the namespace sent on the request', {
      causes: [{ reason: 'FieldValueInvalid', field: 'metadata.namespace', message: `must be "${namespace}", the namespace on the URL` }],
    });
  }
  const { resourceVersion, ...rest } = meta;
  const metadata: Json = { ...rest, name, ...(kind.namespaced ? { namespace } : {}) };
  if (kind.namespaced === false) delete metadata.namespace;
  const config = { ...body, metadata } as JsonObject;
  return { config, ...(typeof resourceVersion === 'string' && resourceVersion !== '' ? { resourceVersion } : {}) };
}

/** managedFields as metadata holds them (FieldsV1); [] when no manager owns anything. */
export function managedFieldsJson(entries: ManagedEntry[]): unknown[] {
  const holder: JsonObject = { metadata: {} };
  writeManaged(holder, entries);
  const out = (holder.metadata as JsonObject).managedFields;
  return Array.isArray(out) ? out : [];
}

/** `object` with `managedFields` in its metadata (none when empty). */
export function withManagedFields(object: Json, managedFields: unknown[]): Json {
  const { managedFields: _old, ...meta } = metaOf(object);
  return { ...object, metadata: managedFields.length > 0 ? { ...meta, managedFields } : meta };
}

/** Applies `config` to the object as the API shows it; a conflict not forced is kube's 409 with its causes. */
export function applyToLive(kind: ApplyKind, live: Json, config: JsonObject, options: ApplyOptions): { object: Json; managedFields: unknown[] } {
  try {
    const { object, managed } = applyConfiguration({
      live: live as JsonObject,
      config,
      schema: applySchemaOf(kind),
      manager: options.fieldManager,
      apiVersion: apiVersionOf(kind),
      force: options.force,
    });
    // ObjectMeta's maps are omitempty: the last applied label gone, no empty map is left.
    const meta = metaOf(object);
    for (const key of ['labels', 'annotations']) if (isObject(meta[key]) && Object.keys(meta[key]).length === 0) delete meta[key];
    return { object, managedFields: managedFieldsJson(managed) };
  } catch (error) {
    if (error instanceof ApplyConflictError) {
      throw new FlotillaError(ErrorReason.Conflict, error.message, {
        group: kind.group,
        kind: kind.plural,
        causes: error.causes.map((c) => ({ reason: String(c.reason), message: String(c.message), field: String(c.field) })),
      });
    }
    throw error;
  }
}

/** The managedFields of an object an apply creates. */
export function managedFieldsOnCreate(kind: ApplyKind, config: JsonObject, options: ApplyOptions): unknown[] {
  return managedFieldsJson(managedOnCreate(config, applySchemaOf(kind), options.fieldManager, apiVersionOf(kind)));
}

/**
 * An update (PUT, merge or JSON patch) of an object that has managedFields: the writer (its
 * fieldManager, or the client named by its User-Agent) gains the fields it changed, the others lose
 * them, as kube-apiserver records an Update operation. Objects never applied keep no managedFields.
 */
export function managedFieldsOnUpdate(kind: ApplyKind, old: Json, next: Json, manager: string): unknown[] | undefined {
  const base = readManaged(old as JsonObject);
  if (base.length === 0) return undefined;
  return managedFieldsJson(recordUpdate(old as JsonObject, next as JsonObject, applySchemaOf(kind), base, manager, apiVersionOf(kind)));
}

/** The field manager kube-apiserver names for a write without ?fieldManager: the User-Agent's program name. */
export function defaultFieldManager(userAgent: string | undefined): string {
  const name = (userAgent ?? '').split('/')[0]!.trim().slice(0, MAX_FIELD_MANAGER);
  return name || 'unknown';
}

/** Whether a write changes nothing but managedFields times (kube answers such a write without storing it). */
export function unchanged(next: Json, old: Json): boolean {
  const strip = (o: Json): Json => {
    const { resourceVersion: _rv, managedFields, ...meta } = metaOf(o);
    const times = Array.isArray(managedFields) ? managedFields.map((e) => (isObject(e) ? { ...e, time: null } : e)) : undefined;
    return { ...o, metadata: { ...meta, ...(times ? { managedFields: times } : {}) } };
  };
  return deepEqual(strip(next), strip(old));
}
