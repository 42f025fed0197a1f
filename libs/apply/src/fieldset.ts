/**
 * Field sets as server-side apply records them in metadata.managedFields (FieldsV1).
 * A set is stored flat: each member is a path of FieldsV1 elements (`f:name`, `k:{...}`,
 * `v:value`, `i:0`) joined by SEP.
 */
import { isObject, type JsonObject, type JsonValue } from './json';
import { childSchema, type ListSchema, type Schema } from './schema';

export const SEP = '\n';
export type FieldSet = Set<string>;

/** Top-level and metadata fields the server owns itself; never part of a manager's set. */
const SYSTEM_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);
const SYSTEM_TOP = new Set(['apiVersion', 'kind', 'status']);

export type SetMode = 'update' | 'apply';

/** The JSON key object identifying an associative-list item, with defaults for absent key fields. */
export function listItemKey(ls: ListSchema, item: JsonValue): JsonObject | undefined {
  if (!isObject(item) || !ls.keys) return undefined;
  const key: JsonObject = {};
  for (const k of [...ls.keys].sort()) {
    const v = item[k] ?? ls.keyDefaults?.[k];
    if (v !== undefined) key[k] = v;
  }
  return key;
}

export function keyElement(key: JsonObject): string {
  return `k:${JSON.stringify(key)}`;
}

export function listItemElement(ls: ListSchema, item: JsonValue, index: number): string {
  if (ls.listType === 'set') return `v:${JSON.stringify(item)}`;
  if (ls.listType === 'map') {
    const key = listItemKey(ls, item);
    if (key) return keyElement(key);
  }
  return `i:${index}`;
}

function isEmpty(v: JsonValue): boolean {
  return v === null || (isObject(v) && Object.keys(v).length === 0);
}

function atomic(s: Schema): boolean {
  switch (s.t) {
    case 'scalar':
      return true;
    case 'struct':
    case 'map':
      return Boolean(s.atomic);
    case 'list':
      return s.listType === 'atomic';
    default:
      return false;
  }
}

/**
 * The set of fields present in `obj`. In `update` mode optional (pointer / omitempty) structs,
 * maps and lists are members themselves (FieldsV1 "."), as the real server records for
 * Update operations; in `apply` mode only leaves, map entries and list items are.
 */
/**
 * The fields an object sets. `status` counts only for writes to the status subresource (`withStatus`):
 * writes to the main resource never own it (kube-apiserver resets those fields).
 */
export function toFieldSet(obj: JsonObject, schema: Schema, mode: SetMode, withStatus = false): FieldSet {
  const out: FieldSet = new Set();
  walkStruct(obj, schema, [], out, mode, true, withStatus);
  return out;
}

function walkStruct(obj: JsonObject, schema: Schema, path: string[], out: FieldSet, mode: SetMode, top = false, withStatus = false): void {
  for (const [key, val] of Object.entries(obj)) {
    if (top && SYSTEM_TOP.has(key) && !(withStatus && key === 'status')) continue;
    if (top && key === 'metadata' && isObject(val)) {
      const metaSchema = childSchema(schema, 'metadata');
      for (const [mk, mv] of Object.entries(val)) {
        if (SYSTEM_META.has(mk)) continue;
        visitField(mk, mv, childSchema(metaSchema, mk), ['f:metadata'], out, mode, metaSchema?.t === 'map');
      }
      continue;
    }
    visitField(key, val, childSchema(schema, key), path, out, mode, schema.t === 'map' || schema.t === 'any');
  }
}

function visitField(key: string, val: JsonValue, s: Schema | undefined, parent: string[], out: FieldSet, mode: SetMode, mapEntry: boolean): void {
  if (val === undefined) return;
  if (!s) return; // unknown fields are dropped (pruned) before this point
  if (key === 'creationTimestamp' && val === null) return; // zero time of embedded ObjectMeta
  const path = [...parent, `f:${key}`];
  const member = path.join(SEP);
  walkValue(val, s, path, out, mode);
  if (isEmpty(val) || mapEntry) {
    out.add(member);
  } else if (mode === 'update' && !s.req && s.t !== 'scalar') {
    out.add(member);
  }
}

function walkValue(val: JsonValue, s: Schema, path: string[], out: FieldSet, mode: SetMode): void {
  const member = path.join(SEP);
  if (val === null || atomic(s)) {
    out.add(member);
    return;
  }
  if (s.t === 'list') {
    if (!Array.isArray(val)) {
      out.add(member);
      return;
    }
    val.forEach((item, i) => {
      const ipath = [...path, listItemElement(s, item, i)];
      if (isObject(item) && s.listType === 'map') walkStruct(item, s.elem, ipath, out, mode);
      out.add(ipath.join(SEP));
    });
    return;
  }
  if (s.t === 'any') {
    if (isObject(val)) walkStruct(val, s, path, out, mode);
    else out.add(member);
    return;
  }
  if (isObject(val)) walkStruct(val, s, path, out, mode);
  else out.add(member);
}

// ---- FieldsV1 (de)serialisation ---------------------------------------------------------------
interface Node {
  self: boolean;
  children: Map<string, Node>;
}

export function toFieldsV1(set: FieldSet): JsonObject {
  const root: Node = { self: false, children: new Map() };
  for (const member of set) {
    let n = root;
    for (const el of member.split(SEP)) {
      let c = n.children.get(el);
      if (!c) {
        c = { self: false, children: new Map() };
        n.children.set(el, c);
      }
      n = c;
    }
    n.self = true;
  }
  const render = (n: Node): JsonObject => {
    const o: JsonObject = {};
    if (n.self && n.children.size > 0) o['.'] = {};
    for (const k of [...n.children.keys()].sort()) o[k] = render(n.children.get(k) as Node);
    return o;
  };
  return render(root);
}

export function fromFieldsV1(v: JsonValue | undefined): FieldSet {
  const out: FieldSet = new Set();
  const walk = (o: JsonObject, path: string[]): void => {
    for (const [k, child] of Object.entries(o)) {
      if (k === '.') {
        out.add(path.join(SEP));
        continue;
      }
      const p = [...path, k];
      if (!isObject(child) || Object.keys(child).length === 0) out.add(p.join(SEP));
      else walk(child, p);
    }
  };
  if (isObject(v)) walk(v, []);
  return out;
}

// ---- lookups by path ---------------------------------------------------------------------------
/** Finds the value addressed by a member path; undefined when absent. */
export function valueAt(obj: JsonValue, member: string, schema: Schema): JsonValue | undefined {
  let cur: JsonValue | undefined = obj;
  let s: Schema | undefined = schema;
  for (const el of member.split(SEP)) {
    if (cur === undefined) return undefined;
    if (el.startsWith('f:')) {
      const name = el.slice(2);
      if (!isObject(cur)) return undefined;
      cur = cur[name];
      s = childSchema(s, name) ?? { t: 'any' };
    } else if (Array.isArray(cur)) {
      const ls: ListSchema | undefined = s?.t === 'list' ? s : undefined;
      const list: JsonValue[] = cur;
      const idx = list.findIndex((item, i) => (ls ? listItemElement(ls, item, i) : `i:${i}`) === el);
      cur = idx >= 0 ? list[idx] : undefined;
      s = ls?.elem ?? { t: 'any' };
    } else {
      return undefined;
    }
  }
  return cur;
}

/** Human form of a member path, as conflict messages print it: `.spec.containers[name="web"].image`. */
export function formatPath(member: string): string {
  let out = '';
  for (const el of member.split(SEP)) {
    if (el.startsWith('f:')) out += `.${el.slice(2)}`;
    else if (el.startsWith('k:')) {
      const key = JSON.parse(el.slice(2)) as JsonObject;
      out += `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    } else if (el.startsWith('v:')) out += `[=${el.slice(2)}]`;
    else if (el.startsWith('i:')) out += `[${el.slice(2)}]`;
  }
  return out;
}

export function union(a: FieldSet, b: FieldSet): FieldSet {
  const o = new Set(a);
  for (const x of b) o.add(x);
  return o;
}

export function difference(a: FieldSet, b: FieldSet): FieldSet {
  const o = new Set<string>();
  for (const x of a) if (!b.has(x)) o.add(x);
  return o;
}

/** True when `member` has a descendant in the set (used to keep parents of owned children). */
export function hasDescendant(set: FieldSet, member: string): boolean {
  const prefix = member + SEP;
  for (const x of set) if (x.startsWith(prefix)) return true;
  return false;
}
