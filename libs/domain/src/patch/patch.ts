import { ErrorReason, FlotillaError } from '../errors/flotilla-error';

export enum PatchType {
  Merge = 'application/merge-patch+json',
  Json = 'application/json-patch+json',
  StrategicMerge = 'application/strategic-merge-patch+json',
  Apply = 'application/apply-patch+yaml',
}

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Bounds on one patch; the defaults are the gateway's body limit and a generous count of operations. */
export interface PatchLimits {
  /** Most operations in one JSON patch. */
  maxOperations: number;
  /** Largest patched object, serialised as JSON; a patch may also not add more than this in total. */
  maxResultBytes: number;
  /** Deepest nesting a merge patch may have. */
  maxDepth: number;
}

export const DEFAULT_PATCH_LIMITS: PatchLimits = { maxOperations: 1000, maxResultBytes: 3 * 1024 * 1024, maxDepth: 64 };

/**
 * Keys a patch may never name: reaching them walks from a plain object into Object.prototype (or a
 * function's prototype), so that a later write changes every object in the process.
 */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

function isPlainObject(value: unknown): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const clone = <T>(value: T): T => structuredClone(value);

function patchError(message: string): FlotillaError {
  return new FlotillaError(ErrorReason.BadRequest, message, {
    causes: [{ reason: 'FieldValueInvalid', field: 'patch', message }],
  });
}

/** A patch refused by a guard (forbidden key, too many operations, too large a result): Invalid, naming where and the limit. */
function guardError(message: string, field: string, reason: 'FieldValueForbidden' | 'FieldValueTooLong' | 'TooMany' | 'FieldValueInvalid'): FlotillaError {
  return new FlotillaError(ErrorReason.Invalid, `the patch is refused: ${message}`, { causes: [{ reason, field, message }] });
}

const tooLarge = (limits: PatchLimits, field: string) =>
  guardError(`the patched object would be larger than ${limits.maxResultBytes} bytes (the limit on a patched object)`, field, 'FieldValueTooLong');

/**
 * A JSON value's serialised size (in UTF-16 units, escapes aside), walked without recursion; stops
 * early and returns a value over `budget` as soon as the size passes it, so the cost is at most `budget`.
 */
export function jsonSizeWithin(value: unknown, budget: number): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && size <= budget) {
    const v = stack.pop();
    if (typeof v === 'string') size += v.length + 2;
    else if (typeof v === 'number') size += String(v).length;
    else if (typeof v === 'boolean' || v === null || v === undefined) size += 5;
    else if (Array.isArray(v)) {
      size += 2 + v.length;
      for (const item of v) stack.push(item);
    } else if (typeof v === 'object') {
      size += 2;
      for (const key of Object.keys(v)) {
        size += key.length + 4;
        stack.push((v as Record<string, unknown>)[key]);
      }
    }
  }
  return size;
}

/** Refuses a result whose exact serialised size is over the limit. */
function checkResultSize(result: unknown, limits: PatchLimits, field: string): void {
  const text = JSON.stringify(result);
  if (text !== undefined && Buffer.byteLength(text, 'utf8') > limits.maxResultBytes) throw tooLarge(limits, field);
}

/**
 * RFC 7386 JSON merge patch. Refuses the keys __proto__, constructor and prototype at any depth,
 * reads only own properties, and bounds the depth of the patch and the size of the result.
 */
export function applyMergePatch(target: unknown, patch: unknown, limits: Partial<PatchLimits> = {}): unknown {
  const bounds = { ...DEFAULT_PATCH_LIMITS, ...limits };
  const result = mergeAt(target, patch, '', 0, bounds);
  checkResultSize(result, bounds, 'patch');
  return result;
}

function mergeAt(target: unknown, patch: unknown, path: string, depth: number, limits: PatchLimits): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  if (depth >= limits.maxDepth) throw guardError(`it nests deeper than ${limits.maxDepth} levels at "${path}"`, 'patch', 'FieldValueInvalid');
  const result: Record<string, unknown> = isPlainObject(target) ? clone(target) : {};
  for (const key of Object.keys(patch)) {
    const where = `${path}/${escapePointer(key)}`;
    if (FORBIDDEN_KEYS.has(key)) throw guardError(`the key "${key}" at "${where}" is not allowed (it would reach an object's prototype)`, 'patch', 'FieldValueForbidden');
    const value = patch[key];
    if (value === null) delete result[key];
    else defineOwn(result, key, mergeAt(Object.hasOwn(result, key) ? result[key] : undefined, value, where, depth + 1, limits));
  }
  return result;
}

/** Sets an own, enumerable property, whatever the key (never calls a setter such as __proto__). */
function defineOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

/** Splits a JSON pointer into unescaped tokens, refusing the forbidden keys in any spelling. */
function parsePointer(pointer: string, field: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw patchError(`invalid JSON pointer "${pointer}": must start with "/"`);
  const tokens = pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  for (const token of tokens) {
    if (FORBIDDEN_KEYS.has(token)) {
      throw guardError(`${field} "${pointer}" names "${token}", which is not allowed (it would reach an object's prototype)`, field, 'FieldValueForbidden');
    }
  }
  return tokens;
}

/** The child of a node by one token: own properties of objects, in-range indices of arrays; else undefined. */
function child(node: unknown, token: string): unknown {
  if (Array.isArray(node)) return /^(0|[1-9][0-9]*)$/.test(token) ? node[Number(token)] : undefined;
  if (isPlainObject(node) && Object.hasOwn(node, token)) return node[token];
  return undefined;
}

function getParent(doc: unknown, tokens: string[], pointer: string): { parent: unknown; key: string } {
  let node = doc;
  for (const token of tokens.slice(0, -1)) {
    node = child(node, token);
    if (node === undefined) throw patchError(`doc is missing path: "${pointer}"`);
  }
  return { parent: node, key: tokens[tokens.length - 1]! };
}

function readAt(doc: unknown, pointer: string, field: string): unknown {
  let node = doc;
  for (const token of parsePointer(pointer, field)) {
    node = child(node, token);
    if (node === undefined) throw patchError(`doc is missing path: "${pointer}"`);
  }
  return node;
}

function arrayIndex(arr: unknown[], key: string, pointer: string, forInsert: boolean): number {
  if (forInsert && key === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(key)) throw patchError(`invalid array index "${key}" in "${pointer}"`);
  const index = Number(key);
  if (index > arr.length || (!forInsert && index === arr.length)) throw patchError(`index out of range in "${pointer}"`);
  return index;
}

/** Inserts `value` (already the doc's own copy) at `pointer`. */
function addAt(doc: unknown, pointer: string, value: unknown, field: string): unknown {
  const tokens = parsePointer(pointer, field);
  if (tokens.length === 0) return value;
  const { parent, key } = getParent(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, pointer, true), 0, value);
  else if (isPlainObject(parent)) defineOwn(parent, key, value);
  else throw patchError(`doc is missing path: "${pointer}"`);
  return doc;
}

function removeAt(doc: unknown, pointer: string, field: string): unknown {
  const tokens = parsePointer(pointer, field);
  if (tokens.length === 0) throw patchError('cannot remove the whole document');
  const { parent, key } = getParent(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, pointer, false), 1);
  else if (isPlainObject(parent) && Object.hasOwn(parent, key)) delete parent[key];
  else throw patchError(`unable to remove nonexistent key: ${key}: missing value`);
  return doc;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * RFC 6902 JSON patch. Throws BadRequest naming the failing operation, and Invalid when a guard
 * refuses it: a path or from naming __proto__, constructor or prototype (also ~-escaped), more than
 * `maxOperations` operations, or a result (or a total of added values) over `maxResultBytes`,
 * checked as each operation adds, so 30 doubling copies stop after a few steps.
 */
export function applyJsonPatch(target: unknown, patch: unknown, limits: Partial<PatchLimits> = {}): unknown {
  const bounds = { ...DEFAULT_PATCH_LIMITS, ...limits };
  if (!Array.isArray(patch)) throw patchError('a JSON patch must be a JSON array of operations');
  if (patch.length > bounds.maxOperations) {
    throw guardError(`it has ${patch.length} operations; at most ${bounds.maxOperations} are accepted in one patch`, 'patch', 'TooMany');
  }
  let doc = clone(target);
  let added = 0;
  /** Counts what an operation adds; refuses as soon as the total passes the limit. */
  const grow = (value: unknown, field: string) => {
    added += jsonSizeWithin(value, bounds.maxResultBytes - added);
    if (added > bounds.maxResultBytes) throw tooLarge(bounds, field);
  };
  patch.forEach((raw: unknown, i: number) => {
    if (!isPlainObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw patchError(`operation ${i}: each operation needs "op" and "path" strings`);
    }
    const op = raw as unknown as JsonPatchOp;
    const path = `patch[${i}].path`;
    const from = `patch[${i}].from`;
    const needsValue = op.op === 'add' || op.op === 'replace' || op.op === 'test';
    if (needsValue && !Object.hasOwn(raw, 'value')) throw patchError(`operation ${i} (${op.op} ${op.path}): missing "value"`);
    switch (op.op) {
      case 'add':
        grow(op.value, path);
        doc = addAt(doc, op.path, clone(op.value), path);
        break;
      case 'remove':
        doc = removeAt(doc, op.path, path);
        break;
      case 'replace':
        readAt(doc, op.path, path);
        grow(op.value, path);
        doc = addAt(removeAt(doc, op.path, path), op.path, clone(op.value), path);
        break;
      case 'move': {
        if (typeof op.from !== 'string') throw patchError(`operation ${i} (move): missing "from"`);
        const value = readAt(doc, op.from, from);
        parsePointer(op.path, path);
        doc = addAt(removeAt(doc, op.from, from), op.path, value, path);
        break;
      }
      case 'copy': {
        if (typeof op.from !== 'string') throw patchError(`operation ${i} (copy): missing "from"`);
        const value = readAt(doc, op.from, from);
        parsePointer(op.path, path);
        grow(value, path);
        doc = addAt(doc, op.path, clone(value), path);
        break;
      }
      case 'test':
        if (!deepEqual(readAt(doc, op.path, path), op.value)) {
          throw patchError(`testing value ${op.path} failed`);
        }
        break;
      default:
        throw patchError(`operation ${i}: unexpected kind of operation "${op.op}"; use add, remove, replace, move, copy or test`);
    }
  });
  checkResultSize(doc, bounds, 'patch');
  return doc;
}

/** Parses a Content-Type into a supported patch type, or throws UnsupportedMediaType. */
export function patchTypeFromContentType(contentType: string | undefined, supported: readonly PatchType[]): PatchType {
  const base = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const found = supported.find((t) => t === base);
  if (!found) {
    throw new FlotillaError(
      ErrorReason.UnsupportedMediaType,
      `the body of the request was in an unknown format - accepted media types include: ${supported.join(', ')}`,
    );
  }
  return found;
}
