/**
 * Server-side apply (kubectl apply --server-side), one implementation for Flotilla's API and the
 * Kubernetes API emulator: field sets and managedFields (FieldsV1), merging an applied
 * configuration by the kind's schema, ownership, conflicts worded as kube-apiserver words them.
 */
export { clone, deepEqual, ensureObject, getPath, isObject, obj, sortKeysDeep, str } from './json';
export type { JsonObject, JsonPrimitive, JsonValue } from './json';
export {
  any,
  atomicList,
  bool,
  childSchema,
  int,
  intOrString,
  kindSchema,
  labelSelector,
  map,
  mapList,
  objectMeta,
  ownerReference,
  req,
  setList,
  string,
  struct,
  time,
} from './schema';
export type { AnySchema, ListSchema, MapSchema, ScalarSchema, Schema, StructSchema } from './schema';
export {
  SEP,
  difference,
  formatPath,
  fromFieldsV1,
  hasDescendant,
  keyElement,
  listItemElement,
  listItemKey,
  toFieldSet,
  toFieldsV1,
  union,
  valueAt,
} from './fieldset';
export type { FieldSet, SetMode } from './fieldset';
export { nowTimestamp, readManaged, recordUpdate, writeManaged } from './managed';
export type { ManagedEntry } from './managed';
export { conflictCauses, conflictMessage, findConflicts, mergeApplied, removeField } from './merge';
export type { ApplyConflict, ManagerSet } from './merge';
export { ApplyConflictError, applyConfiguration, managedOnCreate } from './apply';
export type { ApplyRequest, ApplyResult } from './apply';
export { kindSchemaFromOpenApi, schemaFromOpenApi } from './openapi';
export type { OpenApiNode, OpenApiResolver } from './openapi';
