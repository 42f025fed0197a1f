import { ClusterCondition } from './cluster';

/** Conditions of Flotilla's own credentials in a member (ADR 0029). */
export const CredentialConditionType = {
  /** Which rights Flotilla's identity holds in the member (service-account path): reason MinimalRole or ClusterAdmin. */
  MemberRole: 'MemberRole',
  /** True when renewing Flotilla's short-lived token failed after its retries; the message says why and the fix. */
  CredentialsRenewalFailed: 'CredentialsRenewalFailed',
} as const;

export const CredentialConditionReason = {
  MinimalRole: 'MinimalRole',
  ClusterAdmin: 'ClusterAdmin',
  Renewed: 'TokenRenewed',
  TokenRequestRefused: 'TokenRequestRefused',
  MemberUnreachable: 'MemberUnreachable',
  RenewalError: 'RenewalError',
} as const;

/**
 * Sets a condition the Kubernetes way: lastTransitionTime moves only when the status
 * changes; lastUpdateTime moves on every write. Returns a new array; order is stable.
 */
export function setCondition(conditions: readonly ClusterCondition[] | undefined, next: ClusterCondition, now: Date): ClusterCondition[] {
  const at = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  const previous = index >= 0 ? list[index] : undefined;
  const merged: ClusterCondition = {
    type: next.type,
    status: next.status,
    ...(next.reason !== undefined ? { reason: next.reason } : {}),
    ...(next.message !== undefined ? { message: next.message } : {}),
    lastUpdateTime: at,
    lastTransitionTime: previous && previous.status === next.status ? (previous.lastTransitionTime ?? at) : at,
  };
  if (index >= 0) list[index] = merged;
  else list.push(merged);
  return list;
}

export function findCondition(conditions: readonly ClusterCondition[] | undefined, type: string): ClusterCondition | undefined {
  return conditions?.find((c) => c.type === type);
}
