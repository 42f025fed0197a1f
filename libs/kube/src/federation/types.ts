import type { MemberAddressPolicy } from '../net/address-policy';

/** One object in a member. `namespace` is ignored for cluster-scoped kinds. */
export interface MemberObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export type ApplyFailureReason = 'Conflict' | 'WaitingForNamespace' | 'WaitingForCRD' | 'InsufficientRights' | 'ApplyFailed' | 'ClusterNotReady';

export type ApplyOutcome =
  /** unchanged: the member already had this hash, no apply sent (object is then the desired object when no request was made at all). */
  | { result: 'applied'; object: Record<string, unknown>; unchanged: boolean }
  | { result: 'failed'; reason: ApplyFailureReason; message: string; retryable: boolean };

export interface MemberApplierOptions {
  /** The member address policy (default: this process's, defaultMemberPolicy()). */
  policy?: MemberAddressPolicy;
  /** Requests in flight to this member at once (default 8). */
  concurrency?: number;
  /** Requests started per second at most (default 50). */
  qps?: number;
  /** Bound of every request, connection to last byte (default 10,000 ms). */
  timeoutMs?: number;
  /** Largest answer read (default 4 MiB). */
  maxBodyBytes?: number;
  /** Requests waiting at most; past it a request fails at once, retryable (default 100,000). */
  maxQueued?: number;
  /** A kind the member did not serve is looked up again at most this often (default 10,000 ms). */
  discoveryRefreshMs?: number;
  /** Longest pause between two attempts of a failing watch (default 30,000 ms; the first is 500 ms). */
  watchBackoffMaxMs?: number;
  /** A watch that sends nothing (not even a bookmark) for this long is restarted (default 180,000 ms). */
  watchIdleTimeoutMs?: number;
  /** Longest line of a watch stream (default 1 MiB; metadata only, so real lines are small). */
  maxWatchLineBytes?: number;
}

export interface ManagedEvent {
  /**
   * ADDED, MODIFIED, DELETED: one managed object (DELETED also for those gone while the watch was
   * interrupted). RELISTED: the view of one kind (`ref` names it, with an empty name) is complete
   * as of now: after the first list, after a relist (410 Gone), and at once for a kind the member
   * does not serve (nothing of ours can exist there).
   */
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'RELISTED';
  ref: MemberObjectRef;
  /** The federated-object annotation of the member object. */
  federatedObject?: string;
  /** The hash annotation of the member object. */
  hash?: string;
  resourceVersion?: string;
}

export interface ManagedWatchHandle {
  stop(): void;
  update(kinds: { apiVersion: string; kind: string }[]): void;
  /** True once every watched kind has completed its first list (or is known not to be served). */
  synced(): boolean;
}

/**
 * A failed call to a member (get, remove) with the same reasons as an apply. Its message names the
 * member and quotes it (cleaned), never a credential.
 */
export class MemberCallError extends Error {
  constructor(
    readonly reason: ApplyFailureReason,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'MemberCallError';
  }
}

/** apiVersion → its group ('' for the core group). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}
