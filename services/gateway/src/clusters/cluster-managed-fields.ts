import { CLUSTER_API_GROUP, CLUSTER_API_VERSION, CLUSTER_CREDENTIAL_FIELDS, CLUSTER_KIND, Cluster, ManagedFieldsEntry, PatchType, applyJsonPatch, applyMergePatch } from '@flotilla/domain';
import { deepEqual, type JsonObject } from '@flotilla/apply';
import { ApplyKind, defaultFieldManager, managedFieldsOnUpdate } from '../resources/server-side-apply';
import { Json, isObject } from '../resources/validation';

/**
 * managedFields of the Cluster resource (server-side apply and the Update entries of other writes),
 * with the implementation the generic layer and the Kubernetes emulator share (@flotilla/apply).
 * Pure functions: the service reads the live cluster, calls these, and writes.
 */

/** The Cluster kind as server-side apply sees it (its schema comes from the Cluster's OpenAPI schema). */
export const CLUSTER_APPLY_KIND: ApplyKind = { group: CLUSTER_API_GROUP, version: CLUSTER_API_VERSION.split('/')[1]!, kind: CLUSTER_KIND, plural: 'clusters', namespaced: false };

/** Who sends a write: its validated ?fieldManager, or the User-Agent that names it without one. */
export interface Writer {
  fieldManager?: string;
  userAgent?: string;
}

export const metaOf = (o: Json): Json => (isObject(o.metadata) ? o.metadata : {});

/** The manager a non-apply write records: its ?fieldManager, else the User-Agent's program name (as kube-apiserver). */
export const managerOf = (writer: Writer): string => writer.fieldManager || defaultFieldManager(writer.userAgent);

/**
 * The object as field managers see it: without status (the platform's, never applied, as for a
 * CRD with a status subresource) and without the write-only credentials (never merged, owned or
 * compared: their values never reach managedFields; they travel to the registry beside the object,
 * whose credential door checks them as for PUT).
 */
export function splitWriteOnly(o: Json): { object: Json; credentials: Json } {
  const { status: _status, ...rest } = o;
  const spec = isObject(rest.spec) ? rest.spec : undefined;
  const connection = spec && isObject(spec.connection) ? spec.connection : undefined;
  if (!spec || !connection) return { object: rest, credentials: {} };
  const credentials: Json = {};
  const kept: Json = {};
  for (const [key, value] of Object.entries(connection)) ((CLUSTER_CREDENTIAL_FIELDS as readonly string[]).includes(key) ? credentials : kept)[key] = value;
  return { object: { ...rest, spec: { ...spec, connection: kept } }, credentials };
}

/** The object with the write-only credentials put back for the registry. */
export function withCredentials(o: Json, credentials: Json): Json {
  if (Object.keys(credentials).length === 0) return o;
  const spec = isObject(o.spec) ? o.spec : {};
  const connection = isObject(spec.connection) ? spec.connection : {};
  return { ...o, spec: { ...spec, connection: { ...connection, ...credentials } } };
}

/** metadata.managedFields: [{}] (one empty entry) clears them, as in Kubernetes. */
const clearsManagedFields = (meta: Json) => Array.isArray(meta.managedFields) && meta.managedFields.length === 1 && isObject(meta.managedFields[0]) && Object.keys(meta.managedFields[0]).length === 0;

/** The managedFields a PUT of `body` leaves (undefined: none to record, the stored ones stay). */
export function managedFieldsAfterReplace(live: Cluster, body: unknown, manager: string): ManagedFieldsEntry[] | undefined {
  if (!isObject(body)) return undefined;
  const sent = metaOf(body);
  if (clearsManagedFields(sent)) return [];
  const given = Array.isArray(sent.managedFields) && sent.managedFields.length > 0 ? sent.managedFields : undefined;
  const { object: old } = splitWriteOnly(live as unknown as Json);
  const base = given ? { ...old, metadata: { ...metaOf(old), managedFields: given } } : old;
  const { object: next } = splitWriteOnly(body);
  const { managedFields: _ignored, ...nextMeta } = metaOf(next);
  return managedFieldsOnUpdate(CLUSTER_APPLY_KIND, base, { ...next, metadata: nextMeta }, manager) as ManagedFieldsEntry[] | undefined;
}

/**
 * The managedFields a merge or JSON patch leaves, from the object it would produce (undefined:
 * nothing to record, as for a cluster never applied, a patch that does not apply, which the registry
 * answers, or one that writes managedFields itself). `clientVersion`: the patch sets its own
 * resourceVersion precondition (not to be retried on a conflict).
 */
export function managedFieldsAfterPatch(live: Cluster, patchType: PatchType, patch: unknown, manager: string): { managedFields: ManagedFieldsEntry[]; clientVersion: boolean } | undefined {
  if (!live.metadata.managedFields || live.metadata.managedFields.length === 0) return undefined;
  const { object: old } = splitWriteOnly(live as unknown as Json);
  let predicted: unknown;
  try {
    predicted = patchType === PatchType.Merge ? applyMergePatch(old, patch) : applyJsonPatch(old, patch);
  } catch {
    return undefined;
  }
  if (!isObject(predicted) || !deepEqual(metaOf(predicted).managedFields as JsonObject, metaOf(old).managedFields as JsonObject)) return undefined;
  const { object: next } = splitWriteOnly(predicted);
  const managedFields = managedFieldsOnUpdate(CLUSTER_APPLY_KIND, old, next, manager) as ManagedFieldsEntry[] | undefined;
  if (!managedFields) return undefined;
  return { managedFields, clientVersion: metaOf(predicted).resourceVersion !== live.metadata.resourceVersion };
}
