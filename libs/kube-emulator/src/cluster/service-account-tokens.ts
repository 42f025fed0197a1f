/**
 * Service-account tokens: JWTs signed with HS256 and a per-cluster key, in the two shapes the
 * real server issues (bound tokens from TokenRequest, legacy tokens in token Secrets).
 */
import { type JsonObject } from '@flotilla/apply';
import { createHmac, randomBytes } from 'node:crypto';

export const SA_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export class ServiceAccountTokens {
  private readonly key = randomBytes(32);

  /** `keyId` goes into each token's header (`kid`). */
  constructor(private readonly keyId: string) {}

  private sign(payload: JsonObject): string {
    const enc = (v: JsonObject): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const head = enc({ alg: 'HS256', kid: this.keyId });
    const body = enc(payload);
    const sig = createHmac('sha256', this.key).update(`${head}.${body}`).digest('base64url');
    return `${head}.${body}.${sig}`;
  }

  /** A bound token, as TokenRequest hands out. */
  issue(ns: string, sa: string, saUid: string, expirationSeconds: number, audiences: string[], nowMs = Date.now()): { token: string; exp: number } {
    const now = Math.floor(nowMs / 1000);
    const exp = now + expirationSeconds;
    const payload: JsonObject = {
      aud: audiences,
      exp,
      iat: now,
      iss: SA_ISSUER,
      'kubernetes.io': { namespace: ns, serviceaccount: { name: sa, uid: saUid } },
      nbf: now,
      sub: `system:serviceaccount:${ns}:${sa}`,
    };
    return { token: this.sign(payload), exp };
  }

  /** A legacy token, as the token controller writes into a `kubernetes.io/service-account-token` Secret. */
  legacy(ns: string, sa: string, saUid: string, secretName: string, secretUid: string): string {
    return this.sign({
      iss: 'kubernetes/serviceaccount',
      'kubernetes.io/serviceaccount/namespace': ns,
      'kubernetes.io/serviceaccount/secret.name': secretName,
      'kubernetes.io/serviceaccount/secret.uid': secretUid,
      'kubernetes.io/serviceaccount/service-account.name': sa,
      'kubernetes.io/serviceaccount/service-account.uid': saUid,
      sub: `system:serviceaccount:${ns}:${sa}`,
    });
  }

  /** The claims of a token this cluster signed; undefined for anything else. Expiry and the objects it names are the caller's to check. */
  claims(token: string): JsonObject | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const sig = createHmac('sha256', this.key).update(`${parts[0]}.${parts[1]}`).digest('base64url');
    if (sig !== parts[2]) return undefined;
    try {
      return JSON.parse(Buffer.from(parts[1], 'base64url').toString()) as JsonObject;
    } catch {
      return undefined;
    }
  }
}
