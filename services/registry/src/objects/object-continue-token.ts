import { parseJsonBounded } from '@flotilla/parsing';
import { badRequest } from './object-rules';

/** Continue tokens are small: anything longer was not issued by this server. */
const MAX_CONTINUE_BYTES = 4096;

/**
 * Where the next page of a list starts: after (namespace, name), for the same resource and
 * namespace filter, reporting the first page's revision (as clusters/continue-token.ts does).
 */
export interface ObjectContinueToken {
  v: 1;
  /** resource and namespace filter of the list it belongs to: a token is refused for another list. */
  r: string;
  f: string;
  /** the last (namespace, name) of the previous page */
  ns: string;
  n: string;
  rv: string;
}

export function encodeObjectContinue(token: Omit<ObjectContinueToken, 'v'>): string {
  return Buffer.from(JSON.stringify({ v: 1, ...token }), 'utf8').toString('base64url');
}

/** Reads a continue value back; anything this server did not issue for this list is BadRequest naming `continue`. */
export function decodeObjectContinue(raw: string, resource: string, namespace: string): ObjectContinueToken {
  try {
    if (raw.length > MAX_CONTINUE_BYTES) throw new Error('too long');
    const t = parseJsonBounded(Buffer.from(raw, 'base64url').toString('utf8'), 'the continue token', { maxBytes: MAX_CONTINUE_BYTES, maxDepth: 2 }) as ObjectContinueToken;
    const strings = [t.r, t.f, t.ns, t.n, t.rv].every((s) => typeof s === 'string');
    if (t.v === 1 && strings && t.r === resource && t.f === namespace && /^\d{1,19}$/.test(t.rv)) return t;
  } catch {
    // fall through
  }
  throw badRequest('continue', 'not a continue token this server issued for this list: pass the continue value of the previous page unchanged, with the same resource and namespace');
}
