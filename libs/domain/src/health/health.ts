/**
 * Member-cluster health, kept pure: what one probe saw, how a run of probes turns into a
 * Ready condition (hysteresis), and when to probe next (backoff). No I/O, no clock: the
 * caller passes `now`.
 *
 * Two questions are kept apart, as Karmada does with "online" and "healthy":
 * - reachable: did the API server answer at all (TCP + TLS + HTTP, authenticated)?
 * - healthy:   did it say it is ready (/readyz, else /livez, else /healthz)?
 */

/** Why a cluster is (not) Ready. Stable: automation matches on these. */
export enum HealthReason {
  ClusterReady = 'ClusterReady',
  /** Answers, but its readiness endpoint reports a failure. */
  ClusterNotReady = 'ClusterNotReady',
  /** No answer: connection refused, reset, TLS failure, timeout. */
  ClusterNotReachable = 'ClusterNotReachable',
  /** 401 or 403 with the stored credentials. */
  Unauthorized = 'Unauthorized',
  /** The endpoint answers for a different cluster (kube-system UID changed). */
  IdentityMismatch = 'IdentityMismatch',
  /** Answers with server errors (5xx, 429) on the calls a probe needs. */
  ClusterUnhealthy = 'ClusterUnhealthy',
  /** The stored kubeconfig cannot be used (missing, unparsable, refused by policy). */
  InvalidCredentials = 'InvalidCredentials',
}

/** What the prober reports for one probe; transport-level facts only, no secrets. */
export interface ProbeObservation {
  /** False when no HTTP answer came back (refused, reset, TLS, timeout). */
  reachable: boolean;
  /** Network-level error code when unreachable, e.g. ECONNREFUSED, ETIMEDOUT, CERT_*. */
  errorCode?: string;
  /** HTTP status of the readiness endpoint that answered last (readyz → livez → healthz). */
  readinessStatus?: number;
  readinessEndpoint?: string;
  /** The failing checks a verbose readiness answer lists, e.g. "[-]etcd failed". */
  readinessDetail?: string;
  /** HTTP status of a call that failed for reasons other than readiness (401, 403, 5xx, 429). */
  httpStatus?: number;
  httpPath?: string;
  kubernetesVersion?: string;
  nodeCount?: number;
  zones?: string[];
  region?: string;
  kubeSystemUid?: string;
  /**
   * Only readiness was asked (the member answered the last full probe and stays on its
   * connection, ADR 0038): version, nodes and the kube-system UID are not in this observation and
   * the stored ones stand.
   */
  readinessOnly?: boolean;
  durationMs: number;
}

export type ProbeVerdict = 'success' | 'failure';

export interface ProbeClassification {
  verdict: ProbeVerdict;
  reachable: boolean;
  healthy: boolean;
  reason: HealthReason;
  /** A sentence a person can act on. */
  message: string;
}

/**
 * Classifies one probe. `expectedUid` is the kube-system UID recorded for the cluster;
 * when it is absent, any UID is accepted (the caller records the first one seen).
 */
export function classifyProbe(o: ProbeObservation, expectedUid: string | undefined): ProbeClassification {
  if (!o.reachable) {
    return {
      verdict: 'failure',
      reachable: false,
      healthy: false,
      reason: HealthReason.ClusterNotReachable,
      message: `The API server did not answer (${o.errorCode ?? 'no response'}); check that it is running and reachable from the control plane.`,
    };
  }
  if (o.httpStatus === 401 || o.httpStatus === 403 || o.readinessStatus === 401 || o.readinessStatus === 403) {
    const code = o.httpStatus ?? o.readinessStatus;
    return {
      verdict: 'failure',
      reachable: true,
      healthy: false,
      reason: HealthReason.Unauthorized,
      message: `The API server refused the stored credentials (HTTP ${code}${o.httpPath ? ` on ${o.httpPath}` : ''}); update the cluster's kubeconfig.`,
    };
  }
  if (expectedUid && o.kubeSystemUid && o.kubeSystemUid !== expectedUid) {
    return {
      verdict: 'failure',
      reachable: true,
      healthy: false,
      reason: HealthReason.IdentityMismatch,
      message: `The endpoint now answers for a different cluster (kube-system UID ${o.kubeSystemUid}, expected ${expectedUid}); syncs to it are stopped until the cluster is re-imported or the endpoint is fixed.`,
    };
  }
  if (o.readinessStatus !== undefined && o.readinessStatus !== 200) {
    const detail = o.readinessDetail ? `: ${o.readinessDetail}` : '';
    return {
      verdict: 'failure',
      reachable: true,
      healthy: false,
      reason: HealthReason.ClusterNotReady,
      message: `The API server reports it is not ready (${o.readinessEndpoint ?? 'readiness'} answered ${o.readinessStatus}${detail}).`,
    };
  }
  if (o.httpStatus !== undefined && o.httpStatus >= 400) {
    return {
      verdict: 'failure',
      reachable: true,
      healthy: false,
      reason: HealthReason.ClusterUnhealthy,
      message: `The API server answered HTTP ${o.httpStatus}${o.httpPath ? ` on ${o.httpPath}` : ''}; check the API server's logs and load.`,
    };
  }
  return { verdict: 'success', reachable: true, healthy: true, reason: HealthReason.ClusterReady, message: 'The API server is reachable and ready.' };
}

export interface HysteresisConfig {
  /** Consecutive failures before Ready flips to False. */
  failureThreshold: number;
  /** Consecutive successes before Ready flips back to True. */
  successThreshold: number;
}

export type ReadyState = 'True' | 'False' | 'Unknown';

export interface HealthState {
  /** The Ready status last published. */
  ready: ReadyState;
  reason?: string;
  message?: string;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
}

export interface HealthTransition {
  from: ReadyState;
  to: ReadyState;
  /** A reason change while the status stays (e.g. NotReachable → Unauthorized) is a transition too. */
  reason: string;
  message: string;
}

export function initialHealthState(ready: ReadyState = 'Unknown', reason?: string, message?: string): HealthState {
  return { ready, reason, message, consecutiveFailures: 0, consecutiveSuccesses: 0 };
}

/**
 * The hysteresis state machine. One blip (fewer failures than the threshold) never flips a
 * Ready cluster; a cluster not yet known (Unknown) takes the first verdict at once; an
 * IdentityMismatch flips at once (it is not a transient fault, and syncs must stop now).
 * While False, a change of failure reason is published (the message must stay true).
 */
export function advanceHealth(
  state: HealthState,
  c: ProbeClassification,
  config: HysteresisConfig,
): { state: HealthState; transition?: HealthTransition } {
  const next: HealthState =
    c.verdict === 'success'
      ? { ...state, consecutiveSuccesses: state.consecutiveSuccesses + 1, consecutiveFailures: 0 }
      : { ...state, consecutiveFailures: state.consecutiveFailures + 1, consecutiveSuccesses: 0 };
  let target: ReadyState | undefined;
  if (c.verdict === 'success') {
    if (state.ready === 'Unknown' || (state.ready === 'False' && next.consecutiveSuccesses >= config.successThreshold)) target = 'True';
    else if (state.ready === 'True') target = 'True';
  } else if (state.ready === 'Unknown' || state.ready === 'False' || c.reason === HealthReason.IdentityMismatch || next.consecutiveFailures >= config.failureThreshold) {
    target = 'False';
  }
  if (target === undefined) return { state: next };
  if (target === state.ready && c.reason === state.reason) return { state: next };
  if (target === 'True' && state.ready === 'True') return { state: { ...next, reason: c.reason, message: c.message } };
  const transition: HealthTransition = { from: state.ready, to: target, reason: c.reason, message: c.message };
  return { state: { ...next, ready: target, reason: c.reason, message: c.message }, transition };
}

export interface BackoffConfig {
  intervalMs: number;
  /** First retry after a failed probe; doubles per further failure, capped at the interval. */
  retryBackoffMs: number;
}

/**
 * Delay until the next probe. After a failure (while still below or at the threshold) the
 * cluster is probed again after a short backoff so that a dead cluster is confirmed in
 * seconds; once it is False, the full interval applies again.
 */
export function nextProbeDelay(state: HealthState, config: BackoffConfig & HysteresisConfig): number {
  if (state.consecutiveFailures === 0) return config.intervalMs;
  if (state.ready === 'False' && state.consecutiveFailures >= config.failureThreshold) return config.intervalMs;
  const factor = 2 ** Math.max(0, state.consecutiveFailures - 1);
  return Math.min(config.intervalMs, config.retryBackoffMs * factor);
}

/** The annotation that overrides a cluster's probe interval, e.g. "30s", "1m", "5000" (ms). */
export const PROBE_INTERVAL_ANNOTATION = 'health.flotilla.io/probe-interval';
/** Set on a cluster whose endpoint answers for another cluster; syncs must skip it. */
export const IDENTITY_MISMATCH_CONDITION = 'IdentityMismatch';

/** Parses the per-cluster interval annotation; undefined (use the default) when absent or invalid. */
export function parseProbeInterval(value: string | undefined, min = 1000, max = 3_600_000): number | undefined {
  if (!value) return undefined;
  const m = /^(\d+)(ms|s|m)?$/.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1);
  if (!Number.isFinite(n) || n < min || n > max) return undefined;
  return n;
}

/** Days until a certificate's notAfter, or undefined. */
export function certificateExpiresWithin(notAfter: Date | undefined, now: Date, days: number): boolean {
  if (!notAfter) return false;
  return notAfter.getTime() - now.getTime() <= days * 24 * 3600 * 1000;
}
