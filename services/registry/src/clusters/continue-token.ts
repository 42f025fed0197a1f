import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { parseJsonBounded } from '@flotilla/parsing';

/** Continue tokens are small: anything longer was not issued by this server. */
const MAX_CONTINUE_BYTES = 4096;

/** Where the next page of a list starts: after a name, as of the first page's resourceVersion. */
export interface ContinueToken {
  v: 1;
  after: string;
  rv: string;
}

/** An opaque metadata.continue value (base64url JSON). */
export function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify(token), 'utf8').toString('base64url');
}

/** Reads a metadata.continue value back; anything this server did not issue is BadRequest naming `continue`. */
export function decodeContinue(raw: string): ContinueToken {
  try {
    if (raw.length > MAX_CONTINUE_BYTES) throw new Error('too long');
    const parsed = parseJsonBounded(Buffer.from(raw, 'base64url').toString('utf8'), 'the continue token', { maxBytes: MAX_CONTINUE_BYTES, maxDepth: 2 }) as ContinueToken;
    if (parsed.v === 1 && typeof parsed.after === 'string' && typeof parsed.rv === 'string') return parsed;
  } catch {
    // fall through
  }
  throw new FlotillaError(ErrorReason.BadRequest, 'invalid continue token: pass the metadata.continue value of the previous page unchanged', {
    causes: [{ reason: 'FieldValueInvalid', field: 'continue', message: 'not a continue token issued by this server' }],
  });
}
