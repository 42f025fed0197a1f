import type { IncomingMessage } from 'node:http';
import { ParseLimitError, parseJsonBounded } from '@flotilla/parsing';
import { cleanText } from './member-text';

/** The largest answer read from a member, unless a caller sets another bound. */
export const DEFAULT_MAX_MEMBER_BODY_BYTES = 4 * 1024 * 1024;

const mib = (bytes: number) => (bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`);

/** A member answer over its size bound, or that cannot be read as bounded JSON. */
export class MemberAnswerError extends Error {
  constructor(
    readonly kind: 'too-large' | 'malformed',
    message: string,
  ) {
    super(message);
    this.name = 'MemberAnswerError';
  }
}

/**
 * Reads an answer up to `limit` bytes. Past it (by Content-Length or as it streams) the response
 * is destroyed, so no more of it is read, and the promise fails naming `what` and the limit.
 */
export function readBoundedBody(res: IncomingMessage, limit: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const tooLarge = () => new MemberAnswerError('too-large', `${what} is larger than ${mib(limit)}, the most Flotilla reads from a member`);
    const declared = Number(res.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > limit) {
      res.destroy();
      return reject(tooLarge());
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    res.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        res.destroy();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    res.once('end', () => {
      if (!failed) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    res.once('error', (error) => {
      if (!failed) reject(error);
    });
    res.once('close', () => {
      if (!failed && !res.complete) reject(Object.assign(new Error(`${what} was cut off`), { code: 'ECONNRESET' }));
    });
  });
}

/**
 * A member's JSON answer, parsed under the size and depth bounds of @flotilla/parsing. Text that
 * is not JSON (a proxy's HTML page, a plain-text error) becomes `{ message }`, cleaned and
 * truncated (callers mark it as the member's when they quote it); an answer nested too deep is refused.
 */
export function parseMemberJson(text: string, what: string, maxBytes = DEFAULT_MAX_MEMBER_BODY_BYTES): unknown {
  if (text === '') return {};
  try {
    return parseJsonBounded(text, what, { maxBytes });
  } catch (error) {
    if (error instanceof ParseLimitError && error.kind === 'syntax') return { message: cleanText(text) };
    if (error instanceof ParseLimitError) throw new MemberAnswerError(error.kind === 'size' ? 'too-large' : 'malformed', error.message);
    throw error;
  }
}
