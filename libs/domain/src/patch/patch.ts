import { ErrorReason, FlotillaError } from '../errors/flotilla-error';

export enum PatchType {
  Merge = 'application/merge-patch+json',
  Json = 'application/json-patch+json',
  StrategicMerge = 'application/strategic-merge-patch+json',
  Apply = 'application/apply-patch+yaml',
}

type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

function isPlainObject(value: unknown): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const clone = <T>(value: T): T => structuredClone(value);

/** RFC 7386 JSON merge patch. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const result: Record<string, unknown> = isPlainObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function patchError(message: string): FlotillaError {
  return new FlotillaError(ErrorReason.BadRequest, message, {
    causes: [{ reason: 'FieldValueInvalid', field: 'patch', message }],
  });
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw patchError(`invalid JSON pointer "${pointer}": must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function getParent(doc: unknown, tokens: string[], pointer: string): { parent: unknown; key: string } {
  let node = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isPlainObject(node)) node = node[token];
    else node = undefined;
    if (node === undefined) throw patchError(`doc is missing path: "${pointer}"`);
  }
  return { parent: node, key: tokens[tokens.length - 1]! };
}

function readAt(doc: unknown, pointer: string): unknown {
  let node = doc;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(node)) node = node[Number(token)];
    else if (isPlainObject(node) && Object.prototype.hasOwnProperty.call(node, token)) node = node[token];
    else throw patchError(`doc is missing path: "${pointer}"`);
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

function addAt(doc: unknown, pointer: string, value: unknown): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return clone(value);
  const { parent, key } = getParent(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, pointer, true), 0, clone(value));
  else if (isPlainObject(parent)) parent[key] = clone(value) as JsonValue;
  else throw patchError(`doc is missing path: "${pointer}"`);
  return doc;
}

function removeAt(doc: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw patchError('cannot remove the whole document');
  const { parent, key } = getParent(doc, tokens, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, pointer, false), 1);
  else if (isPlainObject(parent) && Object.prototype.hasOwnProperty.call(parent, key)) delete parent[key];
  else throw patchError(`unable to remove nonexistent key: ${key}: missing value`);
  return doc;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** RFC 6902 JSON patch. Throws BadRequest naming the failing operation. */
export function applyJsonPatch(target: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw patchError('a JSON patch must be a JSON array of operations');
  let doc = clone(target);
  patch.forEach((raw: unknown, i: number) => {
    if (!isPlainObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw patchError(`operation ${i}: each operation needs "op" and "path" strings`);
    }
    const op = raw as unknown as JsonPatchOp;
    const needsValue = op.op === 'add' || op.op === 'replace' || op.op === 'test';
    if (needsValue && !('value' in raw)) throw patchError(`operation ${i} (${op.op} ${op.path}): missing "value"`);
    switch (op.op) {
      case 'add':
        doc = addAt(doc, op.path, op.value);
        break;
      case 'remove':
        doc = removeAt(doc, op.path);
        break;
      case 'replace':
        readAt(doc, op.path);
        doc = addAt(removeAt(doc, op.path), op.path, op.value);
        break;
      case 'move': {
        if (typeof op.from !== 'string') throw patchError(`operation ${i} (move): missing "from"`);
        const value = readAt(doc, op.from);
        doc = addAt(removeAt(doc, op.from), op.path, value);
        break;
      }
      case 'copy': {
        if (typeof op.from !== 'string') throw patchError(`operation ${i} (copy): missing "from"`);
        doc = addAt(doc, op.path, readAt(doc, op.from));
        break;
      }
      case 'test':
        if (!deepEqual(readAt(doc, op.path), op.value)) {
          throw patchError(`testing value ${op.path} failed`);
        }
        break;
      default:
        throw patchError(`operation ${i}: unexpected kind of operation "${op.op}"; use add, remove, replace, move, copy or test`);
    }
  });
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
