/**
 * Strategic merge patch (application/strategic-merge-patch+json) for the kinds the schema models:
 * lists with a patchMergeKey merge by key, `$patch: delete|replace`, `$retainKeys`,
 * `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>` directives. Unmodelled
 * subtrees behave like JSON merge patch (maps merge, lists replace), as for custom resources.
 */
import { childSchema, clone, deepEqual, isObject, type JsonObject, type JsonValue, type ListSchema, type Schema } from '@flotilla/apply';

export class StrategicMergeError extends Error {}

const DIRECTIVE = '$patch';
const ORDER = '$setElementOrder/';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';
const RETAIN = '$retainKeys';

export function applyStrategicMergePatch(original: JsonObject, patch: JsonValue, schema: Schema | undefined): JsonObject {
  if (!isObject(patch)) throw new StrategicMergeError('strategic merge patch must be a JSON object');
  const out = mergeMap(original, patch, schema ?? { t: 'any' });
  if (out === undefined) return {};
  return out;
}

function mergeMap(original: JsonObject | undefined, patch: JsonObject, schema: Schema): JsonObject | undefined {
  const directive = patch[DIRECTIVE];
  if (directive === 'delete') return undefined;
  if (directive === 'replace') {
    const replaced = clone(patch);
    delete replaced[DIRECTIVE];
    const stripped = stripDirectives(replaced);
    return isObject(stripped) ? stripped : {};
  }
  if (directive !== undefined && directive !== 'merge') throw new StrategicMergeError(`Unknown patch type: ${String(directive)}`);
  const out: JsonObject = original ? { ...original } : {};
  const retain = patch[RETAIN];
  if (Array.isArray(retain)) {
    for (const k of Object.keys(out)) if (!retain.includes(k) && !(k in patch)) delete out[k];
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith(DELETE_PRIMITIVE)) {
      const field = k.slice(DELETE_PRIMITIVE.length);
      const cur = out[field];
      if (Array.isArray(cur) && Array.isArray(v)) out[field] = cur.filter((x) => !v.some((d) => deepEqual(d, x)));
    }
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k === DIRECTIVE || k === RETAIN || k.startsWith(ORDER) || k.startsWith(DELETE_PRIMITIVE)) continue;
    if (v === null) {
      delete out[k];
      continue;
    }
    const cs = childSchema(schema, k) ?? { t: 'any' };
    const order = patch[`${ORDER}${k}`];
    if (Array.isArray(v) && cs.t === 'list' && (cs.smpKey || cs.smpMerge)) {
      const merged = mergeList(Array.isArray(out[k]) ? (out[k] as JsonValue[]) : [], v, cs, Array.isArray(order) ? order : undefined);
      out[k] = merged;
    } else if (isObject(v) && cs.t !== 'scalar' && cs.t !== 'list') {
      const merged = mergeMap(isObject(out[k]) ? (out[k] as JsonObject) : undefined, v, cs.t === 'map' || cs.t === 'struct' ? cs : { t: 'any' });
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = stripDirectives(clone(v));
    }
  }
  for (const [k, v] of Object.entries(patch)) {
    if (!k.startsWith(ORDER) || !Array.isArray(v)) continue;
    const field = k.slice(ORDER.length);
    if (field in patch) continue; // already ordered while merging
    const cs = childSchema(schema, field);
    const cur = out[field];
    if (Array.isArray(cur) && cs?.t === 'list') out[field] = orderBy(cur, v, cs);
  }
  return out;
}

function stripDirectives(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.filter((x) => !(isObject(x) && x[DIRECTIVE] !== undefined && Object.keys(x).length === 1)).map(stripDirectives);
  if (!isObject(v)) return v;
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === DIRECTIVE || k === RETAIN || k.startsWith(ORDER) || k.startsWith(DELETE_PRIMITIVE)) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}

function keyOf(ls: ListSchema, item: JsonValue): JsonValue | undefined {
  if (ls.smpKey === undefined) return item;
  return isObject(item) ? item[ls.smpKey] : undefined;
}

function mergeList(original: JsonValue[], patch: JsonValue[], ls: ListSchema, order: JsonValue[] | undefined): JsonValue[] {
  if (patch.some((p) => isObject(p) && p[DIRECTIVE] === 'replace')) {
    return patch.filter((p) => !(isObject(p) && p[DIRECTIVE] === 'replace')).map(stripDirectives);
  }
  if (!ls.smpKey) {
    // merge strategy on a list of primitives: union, original order first.
    const out = [...original];
    for (const p of patch) if (!out.some((x) => deepEqual(x, p))) out.push(p);
    return order ? orderBy(out, order, ls) : out;
  }
  const result: Array<{ key: JsonValue | undefined; value: JsonValue }> = [];
  const deleted: JsonValue[] = [];
  for (const p of patch) {
    const k = keyOf(ls, p);
    if (isObject(p) && p[DIRECTIVE] === 'delete') {
      deleted.push(k ?? null);
      continue;
    }
    if (k === undefined) throw new StrategicMergeError(`map: ${JSON.stringify(p)} does not contain declared merge key: ${ls.smpKey}`);
    const orig = original.find((o) => deepEqual(keyOf(ls, o), k));
    const merged = isObject(p) ? mergeMap(isObject(orig) ? orig : undefined, p, ls.elem) : p;
    if (merged !== undefined) result.push({ key: k, value: merged });
  }
  // server-only items keep their place relative to their original neighbours
  const inResult = (k: JsonValue | undefined): boolean => result.some((r) => deepEqual(r.key, k));
  let prevIndex = -1;
  for (const o of original) {
    const k = keyOf(ls, o);
    if (deleted.some((d) => deepEqual(d, k))) continue;
    const at = result.findIndex((r) => deepEqual(r.key, k));
    if (at >= 0) {
      prevIndex = at;
      continue;
    }
    if (inResult(k)) continue;
    result.splice(prevIndex + 1, 0, { key: k, value: o });
    prevIndex += 1;
  }
  const out = result.map((r) => r.value);
  return order ? orderBy(out, order, ls) : out;
}

/** Orders items by a `$setElementOrder` list; items not named keep their relative order at the end. */
function orderBy(items: JsonValue[], order: JsonValue[], ls: ListSchema): JsonValue[] {
  const keyOfOrder = (o: JsonValue): JsonValue | undefined => (ls.smpKey && isObject(o) ? o[ls.smpKey] : o);
  const ranked = items.map((item, i) => {
    const k = keyOf(ls, item);
    const r = order.findIndex((o) => deepEqual(keyOfOrder(o), k));
    return { item, rank: r >= 0 ? r : order.length + i };
  });
  ranked.sort((a, b) => a.rank - b.rank);
  return ranked.map((r) => r.item);
}
