/** JSON value helpers shared by the store, the patch engines and the HTTP layer. */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function clone<T extends JsonValue>(v: T): T {
  return structuredClone(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (Array.isArray(b)) return false;
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && deepEqual(ao[k], bo[k]));
}

export function getPath(obj: JsonValue | undefined, path: readonly string[]): JsonValue | undefined {
  let cur: JsonValue | undefined = obj;
  for (const p of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

export function str(v: JsonValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function obj(v: JsonValue | undefined): JsonObject | undefined {
  return isObject(v) ? v : undefined;
}

/** Returns obj[key] as an object, creating it when absent. */
export function ensureObject(o: JsonObject, key: string): JsonObject {
  const cur = o[key];
  if (isObject(cur)) return cur;
  const created: JsonObject = {};
  o[key] = created;
  return created;
}

export function sortKeysDeep(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const k of Object.keys(v).sort()) out[k] = sortKeysDeep(v[k]);
  return out;
}
