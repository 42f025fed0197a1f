/** RFC 6902 JSON patch (application/json-patch+json). */
import { clone, deepEqual, isObject, type JsonObject, type JsonValue } from '@flotilla/apply';

export class JsonPatchError extends Error {}

interface Op {
  op: string;
  path: string;
  from?: string;
  value?: JsonValue;
}

function parsePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw new JsonPatchError(`invalid JSON pointer ${JSON.stringify(p)}`);
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: JsonValue, tokens: string[]): { parent: JsonValue; last: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else throw new JsonPatchError(`doc is missing path: ${tokens.join('/')}`);
    if (cur === undefined) throw new JsonPatchError(`doc is missing path: /${tokens.join('/')}`);
  }
  return { parent: cur, last: tokens[tokens.length - 1] };
}

function get(doc: JsonValue, tokens: string[]): JsonValue | undefined {
  let cur: JsonValue | undefined = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = cur[Number(t)];
    else if (isObject(cur)) cur = cur[t];
    else return undefined;
  }
  return cur;
}

function arrayIndex(arr: JsonValue[], t: string, forInsert: boolean): number {
  if (t === '-' && forInsert) return arr.length;
  if (!/^\d+$/.test(t)) throw new JsonPatchError(`invalid array index ${t}`);
  const i = Number(t);
  if (i > arr.length || (!forInsert && i === arr.length)) throw new JsonPatchError(`array index out of bounds: ${i}`);
  return i;
}

function add(doc: JsonValue, tokens: string[], value: JsonValue): JsonValue {
  if (tokens.length === 0) return value;
  const { parent, last } = parentOf(doc, tokens);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true), 0, value);
  else if (isObject(parent)) parent[last] = value;
  else throw new JsonPatchError('add to a non-container');
  return doc;
}

function remove(doc: JsonValue, tokens: string[]): JsonValue {
  const { parent, last } = parentOf(doc, tokens);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, false), 1);
  else if (isObject(parent)) {
    if (!(last in parent)) throw new JsonPatchError(`unable to remove nonexistent key: ${last}: missing value`);
    delete parent[last];
  } else throw new JsonPatchError('remove from a non-container');
  return doc;
}

export function applyJsonPatch(target: JsonObject, ops: JsonValue): JsonObject {
  if (!Array.isArray(ops)) throw new JsonPatchError('json patch must be an array');
  let doc: JsonValue = clone(target);
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') throw new JsonPatchError('invalid operation');
    const op = raw as unknown as Op;
    const tokens = parsePointer(op.path);
    switch (op.op) {
      case 'add':
        doc = add(doc, tokens, clone(op.value ?? null));
        break;
      case 'remove':
        doc = remove(doc, tokens);
        break;
      case 'replace':
        if (get(doc, tokens) === undefined) throw new JsonPatchError(`replace operation does not apply: doc is missing key: ${op.path}: missing value`);
        doc = add(remove(doc, tokens), tokens, clone(op.value ?? null));
        break;
      case 'move': {
        const from = parsePointer(op.from ?? '');
        const v = get(doc, from);
        if (v === undefined) throw new JsonPatchError(`move operation does not apply: doc is missing from path: ${op.from}`);
        doc = add(remove(doc, from), tokens, v);
        break;
      }
      case 'copy': {
        const v = get(doc, parsePointer(op.from ?? ''));
        if (v === undefined) throw new JsonPatchError(`copy operation does not apply: doc is missing from path: ${op.from}`);
        doc = add(doc, tokens, clone(v));
        break;
      }
      case 'test':
        if (!deepEqual(get(doc, tokens), op.value)) throw new JsonPatchError(`testing value ${op.path} failed: test failed`);
        break;
      default:
        throw new JsonPatchError(`Unexpected kind: ${op.op}`);
    }
  }
  if (!isObject(doc)) throw new JsonPatchError('patch result is not an object');
  return doc;
}
