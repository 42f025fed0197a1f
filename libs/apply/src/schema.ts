/**
 * A small structural schema of a kind, as server-side apply needs it: list types and keys (which
 * lists merge by key, which are sets, which are atomic), atomic structs and maps, and which
 * fields are always present. The Kubernetes API emulator adds strategic-merge hints for its
 * built-in kinds; Flotilla's gateway derives one from each kind's OpenAPI schema (openapi.ts).
 * Subtrees a schema does not model are `any`: preserved as sent.
 */
import type { JsonValue } from './json';

export type Schema = ScalarSchema | StructSchema | MapSchema | ListSchema | AnySchema;

interface Common {
  /** Go value field without omitempty: always present, so managedFields never records the field itself ("."). */
  req?: boolean;
  description?: string;
}

export interface ScalarSchema extends Common {
  t: 'scalar';
  type: 'string' | 'integer' | 'boolean' | 'number' | 'int-or-string' | 'date';
}

export interface StructSchema extends Common {
  t: 'struct';
  fields: Record<string, Schema>;
  /** managed as a whole (`+structType=atomic`, e.g. LabelSelector, RoleRef). */
  atomic?: boolean;
}

export interface MapSchema extends Common {
  t: 'map';
  elem: Schema;
  atomic?: boolean;
}

export interface ListSchema extends Common {
  t: 'list';
  elem: Schema;
  /** server-side apply list type. */
  listType: 'atomic' | 'set' | 'map';
  keys?: string[];
  /** values used for missing key fields (e.g. protocol TCP for container ports). */
  keyDefaults?: Record<string, JsonValue>;
  /** strategic merge patch: merge by this key (or merge primitive set) instead of replacing. */
  smpKey?: string;
  smpMerge?: boolean;
}

export interface AnySchema extends Common {
  t: 'any';
}

// ---- constructors -------------------------------------------------------------------------
export const string: ScalarSchema = { t: 'scalar', type: 'string' };
export const int: ScalarSchema = { t: 'scalar', type: 'integer' };
export const bool: ScalarSchema = { t: 'scalar', type: 'boolean' };
export const intOrString: ScalarSchema = { t: 'scalar', type: 'int-or-string' };
export const time: ScalarSchema = { t: 'scalar', type: 'date' };
export const any: AnySchema = { t: 'any' };

export function struct(fields: Record<string, Schema>, opts: { req?: boolean; atomic?: boolean } = {}): StructSchema {
  return { t: 'struct', fields, ...opts };
}
export function req<T extends Schema>(s: T): T {
  return { ...s, req: true };
}
export function map(elem: Schema = string, opts: { atomic?: boolean } = {}): MapSchema {
  return { t: 'map', elem, ...opts };
}
export function atomicList(elem: Schema = string): ListSchema {
  return { t: 'list', elem, listType: 'atomic' };
}
export function setList(elem: Schema = string, smpMerge = false): ListSchema {
  return { t: 'list', elem, listType: 'set', smpMerge };
}
export function mapList(elem: Schema, keys: string[], smpKey?: string, keyDefaults?: Record<string, JsonValue>): ListSchema {
  return { t: 'list', elem, listType: 'map', keys, smpKey, keyDefaults };
}

// ---- metadata -----------------------------------------------------------------------------
export const ownerReference = struct({
  apiVersion: string,
  kind: string,
  name: string,
  uid: string,
  controller: bool,
  blockOwnerDeletion: bool,
});

export const objectMeta = req(
  struct({
    name: string,
    generateName: string,
    namespace: string,
    selfLink: string,
    uid: string,
    resourceVersion: string,
    generation: int,
    creationTimestamp: time,
    deletionTimestamp: time,
    deletionGracePeriodSeconds: int,
    labels: map(),
    annotations: map(),
    ownerReferences: mapList(ownerReference, ['uid'], 'uid'),
    finalizers: setList(string, true),
    managedFields: atomicList(any),
  }),
);

export const labelSelector = struct(
  {
    matchLabels: map(),
    matchExpressions: atomicList(struct({ key: string, operator: string, values: atomicList() })),
  },
  { atomic: true },
);

// ---- helpers for whole kinds --------------------------------------------------------------
export function kindSchema(body: Record<string, Schema>): StructSchema {
  return struct({ apiVersion: string, kind: string, metadata: objectMeta, ...body });
}

/** Finds the child schema of a struct or map for `key`; undefined when the key is unknown. */
export function childSchema(s: Schema | undefined, key: string): Schema | undefined {
  if (!s) return undefined;
  if (s.t === 'any') return any;
  if (s.t === 'struct') return s.fields[key];
  if (s.t === 'map') return s.elem;
  return undefined;
}
