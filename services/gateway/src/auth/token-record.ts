import { TOKEN_HASH_ANNOTATION } from '@flotilla/domain';

/** What authentication needs of a Token: never the secret, only its hash. */
export interface TokenRecord {
  name: string;
  user: string;
  /** sha256 of the whole secret (32 bytes). */
  hash: Buffer;
  /** Epoch ms; undefined: never expires. NaN (an unreadable timestamp) counts as expired. */
  expiresAt?: number;
}

/** The TokenRecord of a stored Token, or undefined when it has no readable hash or user (such a token authenticates nobody). */
export function tokenRecord(name: string, o: Record<string, unknown>): TokenRecord | undefined {
  const metadata = o.metadata as { annotations?: Record<string, string> } | undefined;
  const hex = metadata?.annotations?.[TOKEN_HASH_ANNOTATION];
  const spec = o.spec as { user?: unknown; expirationTimestamp?: unknown } | undefined;
  if (typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex) || typeof spec?.user !== 'string') return undefined;
  const expires = spec.expirationTimestamp;
  return {
    name,
    user: spec.user,
    hash: Buffer.from(hex, 'hex'),
    expiresAt: expires === undefined || expires === null || expires === '' ? undefined : typeof expires === 'string' ? Date.parse(expires) : NaN,
  };
}
