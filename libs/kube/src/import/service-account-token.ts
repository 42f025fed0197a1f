import { stringify } from 'yaml';
import type { ResolvedKubeconfig } from '../kubeconfig/kubeconfig';
import type { MemberClient } from '../member/member-client';
import { memberSaid } from '../net/member-text';
import { MARKER_NAMESPACE } from './import-checks';
import { SERVICE_ACCOUNT_NAME } from './member-role';

/** Lifetime of the tokens Flotilla mints by default: 24 h (ADR 0029). */
export const DEFAULT_TOKEN_TTL_SECONDS = 24 * 3600;
/** The shortest lifetime a kube-apiserver grants through TokenRequest (10 minutes). */
export const MIN_TOKEN_TTL_SECONDS = 600;
/** Share of a token's life after which Flotilla renews it. */
export const RENEW_AT_FRACTION = 0.8;

/** A token and when it stops being accepted. */
export interface MintedToken {
  token: string;
  /** Unix milliseconds. */
  issuedAt: number;
  expiresAt: number;
}

/** Why a TokenRequest failed, with the member's HTTP status (0 when it did not answer). */
export class TokenRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'TokenRequestError';
  }
}

/**
 * Mints a bound token for flotilla-system/flotilla-host through TokenRequest
 * (serviceaccounts/token), living `ttlSeconds`. Works with any credential allowed to create that
 * subresource, including the ServiceAccount's own current token (the member role grants it).
 */
export async function requestServiceAccountToken(client: MemberClient, ttlSeconds: number): Promise<MintedToken> {
  const before = Date.now();
  const r = await client.request('POST', `/api/v1/namespaces/${MARKER_NAMESPACE}/serviceaccounts/${SERVICE_ACCOUNT_NAME}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: ttlSeconds },
  });
  const status = (r.body as { status?: { token?: unknown; expirationTimestamp?: unknown } }).status;
  if ((r.status === 200 || r.status === 201) && typeof status?.token === 'string' && status.token) {
    const lifetime = tokenLifetime(status.token);
    const stamped = typeof status.expirationTimestamp === 'string' ? Date.parse(status.expirationTimestamp) : NaN;
    return { token: status.token, issuedAt: lifetime?.issuedAt ?? before, expiresAt: lifetime?.expiresAt ?? (Number.isFinite(stamped) ? stamped : before + ttlSeconds * 1000) };
  }
  throw new TokenRequestError(r.status, `TokenRequest for ServiceAccount ${MARKER_NAMESPACE}/${SERVICE_ACCOUNT_NAME} answered ${r.status}; ${memberSaid((r.body as { message?: unknown }).message)}`);
}

/**
 * When a service-account token was issued and expires, read from its (unverified) JWT claims;
 * undefined for a token without `exp`, such as a legacy token Secret's (it never expires).
 */
export function tokenLifetime(token: string): { issuedAt: number; expiresAt: number } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1].length > 8192) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as { iat?: unknown; exp?: unknown; nbf?: unknown };
    if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) return undefined;
    const iat = typeof claims.iat === 'number' ? claims.iat : typeof claims.nbf === 'number' ? claims.nbf : claims.exp - DEFAULT_TOKEN_TTL_SECONDS;
    return { issuedAt: iat * 1000, expiresAt: claims.exp * 1000 };
  } catch {
    return undefined;
  }
}

/** When a token issued at `issuedAt` and expiring at `expiresAt` is due for renewal. */
export function renewalDueAt(lifetime: { issuedAt: number; expiresAt: number }): number {
  return lifetime.issuedAt + Math.floor((lifetime.expiresAt - lifetime.issuedAt) * RENEW_AT_FRACTION);
}

/** A token kubeconfig for the member `resolved` reaches, under the cluster's name. */
export function serviceAccountKubeconfig(resolved: ResolvedKubeconfig, clusterName: string, token: string, caDataBase64?: string): string {
  const caData = resolved.caData ? Buffer.from(resolved.caData, 'utf8').toString('base64') : caDataBase64;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: clusterName, cluster: { server: resolved.server, ...(caData ? { 'certificate-authority-data': caData } : {}), ...(resolved.tlsServerName ? { 'tls-server-name': resolved.tlsServerName } : {}), ...(!caData && resolved.insecureSkipTlsVerify ? { 'insecure-skip-tls-verify': true } : {}) } }],
    users: [{ name: `${clusterName}-flotilla`, user: { token } }],
    contexts: [{ name: clusterName, context: { cluster: clusterName, user: `${clusterName}-flotilla` } }],
    'current-context': clusterName,
  });
}
