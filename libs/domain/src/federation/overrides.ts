import { ErrorReason, FlotillaError } from '../errors/flotilla-error';
import { DEFAULT_PATCH_LIMITS, jsonSizeWithin } from '../patch/patch';
import { FEDERATION_GROUP, MANAGED_BY_LABEL } from './constants';
import { isObject, type Json } from './causes';

/** Keys a pointer may never name (they reach an object's prototype). */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
export const OVERRIDE_OPS = ['add', 'remove', 'replace'] as const;
export type OverrideOpName = (typeof OVERRIDE_OPS)[number];
const MAX_POINTER_LENGTH = 1024;

/** Metadata a template may carry that each member sets for itself: dropped from member objects. */
export const MEMBER_SET_METADATA: readonly string[] = [
  'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink',
];

/** One override operation with the field path it came from (for errors). */
export interface LocatedOp {
  op: OverrideOpName;
  path: string;
  value?: unknown;
  hasValue: boolean;
  /** e.g. `spec.overrides[0].clusterOverrides[1]`. */
  field: string;
}

/** Splits a JSON pointer into unescaped tokens, or returns why it is not one. */
export function pointerTokens(pointer: string): string[] | string {
  if (pointer.length > MAX_POINTER_LENGTH) return `must be at most ${MAX_POINTER_LENGTH} characters`;
  if (!pointer.startsWith('/')) return `must be a JSON pointer starting with "/", e.g. "/spec/replicas"`;
  const raw = pointer.slice(1).split('/');
  const tokens: string[] = [];
  for (const token of raw) {
    if (/~(?![01])/.test(token)) return `"~" must be written "~0", and "/" inside a key "~1" (e.g. "/metadata/labels/app.kubernetes.io~1name")`;
    const key = token.replace(/~1/g, '/').replace(/~0/g, '~');
    if (FORBIDDEN_KEYS.has(key)) return `may not name "${key}"`;
    tokens.push(key);
  }
  return tokens;
}

/**
 * Why an override may not touch this path, or undefined. Identity (apiVersion, kind, name,
 * namespace), status and member-set metadata are never overridden, nor Flotilla's own marks; a
 * FederatedSecret's data never (overrides are not sealed: use one FederatedSecret per placement).
 */
export function forbiddenOverride(tokens: readonly string[], secret: boolean): string | undefined {
  const [first, second, third] = tokens;
  if (tokens.length === 0 || (tokens.length === 1 && first === '')) return 'an override must name a field inside the template, e.g. "/spec/replicas"';
  if (first === 'apiVersion' || first === 'kind') return `the ${first} of a member object is the template's: change spec.template instead`;
  if (first === 'status') return 'status is set by each member, not by overrides';
  if (first === 'metadata') {
    if (tokens.length === 1) return 'override single fields of metadata (e.g. "/metadata/labels/tier"), not metadata as a whole';
    if (second === 'name' || second === 'namespace') return `a member object's ${second} is the federated object's: it cannot differ per cluster`;
    if (MEMBER_SET_METADATA.includes(second!) || second === 'ownerReferences' || second === 'generateName') return `metadata.${second} is set by each member`;
    if (tokens.length === 3 && second === 'labels' && third === MANAGED_BY_LABEL) return `the label ${MANAGED_BY_LABEL} is Flotilla's own mark`;
    if (tokens.length === 3 && second === 'annotations' && third!.startsWith(`${FEDERATION_GROUP}/`)) return `annotations under ${FEDERATION_GROUP}/ are Flotilla's own marks`;
  }
  if (secret && (first === 'data' || first === 'stringData')) {
    return `a FederatedSecret's ${first} cannot be overridden (overrides are not encrypted): create one FederatedSecret per placement instead`;
  }
  return undefined;
}

/** Labels and annotations: their parents (metadata, the map) are created when missing. */
function metadataMap(tokens: readonly string[]): boolean {
  return tokens.length === 3 && tokens[0] === 'metadata' && (tokens[1] === 'labels' || tokens[1] === 'annotations');
}

function defineOwn(target: Json, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}

const escapeToken = (t: string) => t.replace(/~/g, '~0').replace(/\//g, '~1');
const INDEX = /^(0|[1-9][0-9]*)$/;

function opError(op: LocatedOp, why: string): FlotillaError {
  const message = `Invalid value: "${op.path}": ${why}`;
  return new FlotillaError(ErrorReason.Invalid, `${op.field}.path: ${message}`, { causes: [{ reason: 'FieldValueInvalid', field: `${op.field}.path`, message }] });
}

/** Applies one operation in place to `doc` (owned by the caller). */
function applyOp(doc: Json, op: LocatedOp, tokens: readonly string[]): void {
  if (op.op !== 'remove' && !op.hasValue) throw opError(op, `op "${op.op}" needs a value: add "value", or use op "remove"`);
  if (tokens.length === 0) throw opError(op, 'an override must name a field inside the template, e.g. "/spec/replicas"');
  let parent: unknown = doc;
  let prefix = '';
  const lenient = metadataMap(tokens);
  for (let i = 0; i < tokens.length - 1; i++) {
    const token = tokens[i]!;
    let next: unknown;
    if (Array.isArray(parent)) next = INDEX.test(token) ? parent[Number(token)] : undefined;
    else if (isObject(parent) && Object.hasOwn(parent, token)) next = parent[token];
    if (next === undefined && lenient && isObject(parent)) {
      if (op.op === 'remove') return;
      defineOwn(parent, token, (next = {}));
    }
    if (next === undefined && Array.isArray(parent)) {
      throw opError(op, `"${prefix || '/'}" is an array of ${parent.length} elements here: use an index below ${parent.length}`);
    }
    if (next === undefined || next === null || typeof next !== 'object') {
      const what = next === undefined ? `has no "${token}"` : `holds a ${typeof next} at "${token}", not an object`;
      throw opError(op, `its parent does not exist in the template ("${prefix || '/'}" ${what}): add the parent first (an override with op "add" and an object value, earlier in the list), or add it to spec.template`);
    }
    parent = next;
    prefix += `/${escapeToken(token)}`;
  }
  const key = tokens[tokens.length - 1]!;
  if (Array.isArray(parent)) {
    const length = parent.length;
    const index = op.op === 'add' && key === '-' ? length : INDEX.test(key) ? Number(key) : NaN;
    const limit = op.op === 'add' ? length : length - 1;
    if (!(index <= limit)) {
      throw opError(op, `"${prefix || '/'}" is an array of ${length} elements here: use an index below ${length}${op.op === 'add' ? `, ${length} or "-" to append` : ', or op "add" with "-" to append'}`);
    }
    if (op.op === 'add') parent.splice(index, 0, structuredClone(op.value));
    else if (op.op === 'replace') parent[index] = structuredClone(op.value);
    else parent.splice(index, 1);
    return;
  }
  const target = parent as Json;
  if (op.op === 'remove') delete target[key];
  else defineOwn(target, key, structuredClone(op.value));
}

/**
 * Applies override operations in order to a copy of a template, with kubefed's semantics (its
 * JSON patch library): add, replace and remove need the parent to exist; on an object, replace of
 * a missing key adds it and remove of a missing key does nothing; on an array the index must be in
 * range (add also takes the length or "-" to append). Labels and annotations may be set or removed
 * whether or not metadata and the map exist. Never mutates `template`; returns it (same reference)
 * when there is no operation. Throws FlotillaError Invalid naming `<op.field>.path` and what to
 * write instead when an operation does not apply; refuses a result over `maxResultBytes`.
 */
export function applyOverrides(template: Json, ops: readonly LocatedOp[], maxResultBytes = DEFAULT_PATCH_LIMITS.maxResultBytes): Json {
  if (ops.length === 0) return template;
  const doc = structuredClone(template);
  for (const op of ops) {
    const tokens = pointerTokens(op.path);
    if (typeof tokens === 'string') throw opError(op, tokens);
    applyOp(doc, op, tokens);
  }
  if (jsonSizeWithin(doc, maxResultBytes) > maxResultBytes) {
    const last = ops[ops.length - 1]!;
    throw new FlotillaError(ErrorReason.Invalid, `${last.field}: the overridden object would be larger than ${maxResultBytes} bytes`, {
      causes: [{ reason: 'FieldValueTooLong', field: last.field.replace(/\.clusterOverrides\[\d+\]$/, '.clusterOverrides'), message: `Too long: the object with these overrides would be larger than ${maxResultBytes} bytes` }],
    });
  }
  return doc;
}

/** The override operations for one cluster, in order (every entry naming it), located for errors. Unreadable entries are skipped. */
export function overridesForCluster(overrides: unknown, clusterName: string): LocatedOp[] {
  if (!Array.isArray(overrides)) return [];
  const ops: LocatedOp[] = [];
  overrides.forEach((entry: unknown, i: number) => {
    if (!isObject(entry) || entry.clusterName !== clusterName || !Array.isArray(entry.clusterOverrides)) return;
    entry.clusterOverrides.forEach((o: unknown, j: number) => {
      const located = locatedOp(o, `spec.overrides[${i}].clusterOverrides[${j}]`);
      if (located) ops.push(located);
    });
  });
  return ops;
}

/** An override operation as written, with its op defaulted to replace; undefined when it is not an object with a string path and a known op. */
export function locatedOp(o: unknown, field: string): LocatedOp | undefined {
  if (!isObject(o) || typeof o.path !== 'string') return undefined;
  const op = o.op === undefined || o.op === null ? 'replace' : o.op;
  if (!OVERRIDE_OPS.includes(op as OverrideOpName)) return undefined;
  return { op: op as OverrideOpName, path: o.path, value: o.value, hasValue: Object.hasOwn(o, 'value'), field };
}
