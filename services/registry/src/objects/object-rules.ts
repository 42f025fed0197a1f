import { ErrorCause, ErrorReason, FlotillaError, dns1123LabelErrors } from '@flotilla/domain';

/**
 * The rules of the generic object store, kept pure (no I/O) so the service only orders the steps:
 * what a resource key, a name and a namespace may be, what the registry stamps into metadata, and
 * when generation moves. Messages follow the Kubernetes API server's, naming the field to fix.
 */

/** Objects travel as JSON text; anything larger is refused (Invalid), as etcd's 1.5 MiB request cap would in Kubernetes. */
export const MAX_OBJECT_BYTES = 1024 * 1024;
export const LIST_DEFAULT_LIMIT = 500;
export const LIST_MAX_LIMIT = 1000;
export const CHANGES_DEFAULT_LIMIT = 1000;
export const CHANGES_MAX_LIMIT = 5000;
/** How many resources one ListObjectChanges may name. */
export const MAX_CHANGE_RESOURCES = 100;

const RESOURCE = /^[a-z0-9-]+\.[a-z0-9.-]+$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A revision is a non-negative int64 in decimal; it is compared as BigInt, never as a JS number. */
const REVISION = /^\d{1,19}$/;

export interface ObjectKey {
  resource: string;
  namespace: string;
  name: string;
}

export type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Kubernetes puts the plural in details.kind and the group in details.group ("users", "iam.kubesphere.io"). */
function details(resource: string, name?: string) {
  const dot = resource.indexOf('.');
  return { name, kind: dot > 0 ? resource.slice(0, dot) : resource, group: dot > 0 ? resource.slice(dot + 1) : '' };
}

const describe = (key: ObjectKey) => `${key.resource} "${key.name}"${key.namespace ? ` in namespace "${key.namespace}"` : ''}`;

export function invalid(resource: string, name: string, causes: ErrorCause[]): FlotillaError {
  const what = `${resource} "${name}"`;
  return new FlotillaError(ErrorReason.Invalid, `${what} is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`, { ...details(resource, name), causes });
}

export function badRequest(field: string, message: string): FlotillaError {
  return new FlotillaError(ErrorReason.BadRequest, `${field}: ${message}`, { causes: [{ reason: 'FieldValueInvalid', field, message }] });
}

export const objectErrors = {
  notFound: (key: ObjectKey) => new FlotillaError(ErrorReason.NotFound, `${describe(key)} not found`, details(key.resource, key.name)),
  alreadyExists: (key: ObjectKey) => new FlotillaError(ErrorReason.AlreadyExists, `${describe(key)} already exists`, details(key.resource, key.name)),
  conflict: (key: ObjectKey, why: string) =>
    new FlotillaError(ErrorReason.Conflict, `Operation cannot be fulfilled on ${describe(key)}: ${why}`, details(key.resource, key.name)),
  gone: (since: string) =>
    new FlotillaError(ErrorReason.Gone, `too old resource version: ${since}: the change log no longer holds it; list again and follow the changes from the list's revision`),
  stale: () => 'the object has been modified; please apply your changes to the latest version and try again',
};

/** `<plural>.<group>`, e.g. users.iam.kubesphere.io. */
export function checkResource(resource: string): void {
  if (resource.length > 253 || !RESOURCE.test(resource)) {
    throw invalid(resource || '<empty>', '', [
      { reason: 'FieldValueInvalid', field: 'resource', message: `must be <plural>.<group> in lower case (e.g. users.iam.kubesphere.io), matching ${RESOURCE.source}` },
    ]);
  }
}

export function checkNamespace(resource: string, name: string, namespace: string): void {
  if (namespace === '') return;
  const errors = dns1123LabelErrors(namespace);
  if (errors.length > 0) throw invalid(resource, name, errors.map((message) => ({ reason: 'FieldValueInvalid', field: 'metadata.namespace', message })));
}

/** Problems with metadata.name: a DNS-1123 subdomain of at most 253 characters. */
export function nameErrors(name: string): string[] {
  if (name === '') return ['Required value: name is required'];
  const errors: string[] = [];
  if (name.length > 253) errors.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN.test(name)) {
    errors.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')",
    );
  }
  return errors;
}

export function checkKey(key: ObjectKey): void {
  checkResource(key.resource);
  const errors = nameErrors(key.name);
  if (errors.length > 0) throw invalid(key.resource, key.name, errors.map((message) => ({ reason: 'FieldValueInvalid', field: 'metadata.name', message })));
  checkNamespace(key.resource, key.name, key.namespace);
}

/**
 * Where a written object goes: its resource, the namespace of the request (or else of the object)
 * and metadata.name. A request namespace that differs from metadata.namespace is BadRequest.
 */
export function keyOfObject(resource: string, object: unknown, namespace: string): { key: ObjectKey; object: JsonObject; metadata: JsonObject } {
  checkResource(resource);
  if (!isObject(object)) throw invalid(resource, '', [{ reason: 'FieldValueInvalid', field: 'object', message: 'must be a JSON object' }]);
  const metadata = object.metadata ?? {};
  if (!isObject(metadata)) throw invalid(resource, '', [{ reason: 'FieldValueInvalid', field: 'metadata', message: 'must be an object' }]);
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  const own = metadata.namespace;
  if (own !== undefined && typeof own !== 'string') throw invalid(resource, name, [{ reason: 'FieldValueInvalid', field: 'metadata.namespace', message: 'must be a string' }]);
  if (namespace && own && own !== namespace) {
    throw badRequest('metadata.namespace', `the namespace of the object ("${own}") does not match the namespace of the request ("${namespace}")`);
  }
  const key = { resource, namespace: namespace || own || '', name };
  checkKey(key);
  return { key, object, metadata };
}

/** A creationTimestamp as Kubernetes writes it: RFC 3339 in UTC, whole seconds. */
const timestamp = (now: Date) => now.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A create names no version: the client may not pick where in the history its object lands. */
export function checkCreate(key: ObjectKey, metadata: JsonObject): void {
  if (metadata.resourceVersion !== undefined && metadata.resourceVersion !== '') {
    throw invalid(key.resource, key.name, [{ reason: 'FieldValueInvalid', field: 'metadata.resourceVersion', message: 'must not be set on create' }]);
  }
}

/** The object to store on create: the registry owns uid, resourceVersion, generation and creationTimestamp. */
export function stampCreated(key: ObjectKey, object: JsonObject, metadata: JsonObject, uid: string, resourceVersion: string, now: Date): JsonObject {
  const meta: JsonObject = { ...metadata, name: key.name, uid, resourceVersion, generation: 1, creationTimestamp: timestamp(now) };
  if (key.namespace) meta.namespace = key.namespace;
  else delete meta.namespace;
  return { ...object, metadata: meta };
}

/**
 * Checks an update against the stored object (Conflict on a stale resourceVersion or another uid)
 * before any revision is taken, so a refused write leaves no gap in the revisions.
 */
export function checkUpdate(key: ObjectKey, metadata: JsonObject, stored: JsonObject): void {
  const current = (stored.metadata ?? {}) as JsonObject;
  const rv = metadata.resourceVersion;
  if (rv !== undefined && rv !== '' && rv !== current.resourceVersion) throw objectErrors.conflict(key, objectErrors.stale());
  const uid = metadata.uid;
  if (uid !== undefined && uid !== '' && uid !== current.uid) {
    throw objectErrors.conflict(key, `Precondition failed: UID in object meta: ${String(uid)}, UID in stored object: ${String(current.uid)}`);
  }
}

/**
 * The object to store on update: uid and creationTimestamp kept; generation bumped when anything
 * but metadata and status changed, or when `sealedChanged` (the plaintext of a sealed part, which
 * neither object shows, ADR 0034).
 */
export function stampUpdated(key: ObjectKey, object: JsonObject, metadata: JsonObject, stored: JsonObject, resourceVersion: string, sealedChanged = false): JsonObject {
  const current = (stored.metadata ?? {}) as JsonObject;
  const generation = typeof current.generation === 'number' ? current.generation : 1;
  const meta: JsonObject = {
    ...metadata,
    name: key.name,
    uid: current.uid,
    resourceVersion,
    generation: sealedChanged || specChanged(stored, object) ? generation + 1 : generation,
    creationTimestamp: current.creationTimestamp,
  };
  if (key.namespace) meta.namespace = key.namespace;
  else delete meta.namespace;
  return { ...object, metadata: meta };
}

/** Delete preconditions, as the Kubernetes API server words them. */
export function checkPreconditions(key: ObjectKey, stored: JsonObject, preconditions: { uid?: string; resourceVersion?: string } = {}): void {
  const current = (stored.metadata ?? {}) as JsonObject;
  if (preconditions.uid && preconditions.uid !== current.uid) {
    throw objectErrors.conflict(key, `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${String(current.uid)}`);
  }
  if (preconditions.resourceVersion && preconditions.resourceVersion !== current.resourceVersion) {
    throw objectErrors.conflict(key, `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${String(current.resourceVersion)}`);
  }
}

export function withResourceVersion(object: JsonObject, resourceVersion: string): JsonObject {
  return { ...object, metadata: { ...((object.metadata ?? {}) as JsonObject), resourceVersion } };
}

/** True when anything outside metadata and status differs (jsonb reorders keys, so order is ignored). */
export function specChanged(before: JsonObject, after: JsonObject): boolean {
  const strip = (o: JsonObject) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'metadata' && k !== 'status'));
  return !sameJson(strip(before), strip(after));
}

export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  }
  if (!isObject(a) || !isObject(b)) return false;
  const ka = Object.keys(a).filter((k) => a[k] !== undefined);
  const kb = Object.keys(b).filter((k) => b[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameJson(a[k], b[k]));
}

/** A revision from a caller (`since`): digits only, else BadRequest naming the field. */
export function parseRevision(value: string, field: string): bigint {
  if (!REVISION.test(value)) throw badRequest(field, `must be a revision this store returned (a decimal string), got "${value.slice(0, 40)}"`);
  return BigInt(value);
}

/** A page size: unset or 0 gives the default; above the maximum, the maximum. */
export function pageLimit(limit: number | undefined, byDefault: number, max: number): number {
  if (limit === undefined || limit === 0) return byDefault;
  if (!Number.isInteger(limit) || limit < 0) throw badRequest('limit', 'must be a positive whole number');
  return Math.min(limit, max);
}
