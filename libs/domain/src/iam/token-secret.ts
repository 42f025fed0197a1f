import { createHash, randomBytes } from 'node:crypto';

/**
 * Flotilla token secrets: `flt_<id>_<secret>`, where id is the Token object's name (so a presented
 * token finds its record without a scan) and secret is 32 random bytes, base64url. Only the
 * sha256 of the whole string is stored.
 */
const TOKEN_FORM = /^flt_([a-z0-9]{8,40})_([A-Za-z0-9_-]{43})$/;

export interface NewTokenSecret {
  name: string;
  secret: string;
  sha256: string;
}

export function newTokenSecret(): NewTokenSecret {
  const name = `t${randomBytes(10).toString('hex')}`;
  const secret = `flt_${name}_${randomBytes(32).toString('base64url')}`;
  return { name, secret, sha256: tokenHash(secret) };
}

export function tokenHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The Token name a presented secret claims, or undefined when it is not a Flotilla token. */
export function tokenNameOf(presented: string): string | undefined {
  return TOKEN_FORM.exec(presented)?.[1];
}
