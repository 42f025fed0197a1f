import {
  Cluster,
  ClusterConditionType,
  ClusterStatus,
  HealthReason,
  HealthState,
  HealthTransition,
  HysteresisConfig,
  ProbeClassification,
  ProbeObservation,
  PROBE_INTERVAL_ANNOTATION,
  advanceHealth,
  certificateExpiresWithin,
  classifyProbe,
  findCondition,
  nextProbeDelay,
  parseProbeInterval,
  statusAfterProbe,
  statusDiffers,
} from '@flotilla/domain';

/**
 * The health policy of one probe, as pure functions: what an outcome means, when Ready changes,
 * what to write, and when to probe next. No clock and no I/O: every time is an argument, so the
 * rules are tested without timers (probe-policy.spec.ts). The queueing lives in probe-queue.ts,
 * the probe cycle that applies these rules in probe-cycle.ts.
 */

export type ProbeResultKind = 'success' | 'unreachable' | 'not_ready' | 'unauthorized' | 'identity_mismatch' | 'error';

/** The lane a due probe waits in: `suspect` when the last probe failed (probe-queue.ts). */
export type LaneName = 'main' | 'suspect';

export interface CadenceConfig {
  /** The fleet's default interval (a cluster's annotation may override it). */
  intervalMs: number;
  /** First retry after a failure; doubles per failure, capped at the interval. */
  retryBackoffMs: number;
}

export type ProbePolicyConfig = CadenceConfig & HysteresisConfig;

/** One probe attempt: what the prober observed, or no observation because no prober could be built from the stored credentials. */
export type ProbeAttempt = { observation: ProbeObservation } | { credentialsUnusable: true };

/** Only clusters the import has finished (Initialized=True) and not being deleted are probed. */
export function isProbeable(c: Cluster): boolean {
  return !c.metadata.deletionTimestamp && findCondition(c.status?.conditions, ClusterConditionType.Initialized)?.status === 'True';
}

/** What a probe attempt means. Unusable stored credentials are a failure a person must fix (InvalidCredentials). */
export function classifyAttempt(attempt: ProbeAttempt, expectedUid: string | undefined): ProbeClassification {
  if ('observation' in attempt) return classifyProbe(attempt.observation, expectedUid);
  return {
    verdict: 'failure',
    reachable: false,
    healthy: false,
    reason: HealthReason.InvalidCredentials,
    message: 'The stored kubeconfig cannot be used to reach the cluster; update it.',
  };
}

/** The `result` label of flotilla_probe_total. */
export function resultKind(c: ProbeClassification): ProbeResultKind {
  switch (c.reason) {
    case HealthReason.ClusterReady:
      return 'success';
    case HealthReason.ClusterNotReachable:
      return 'unreachable';
    case HealthReason.Unauthorized:
      return 'unauthorized';
    case HealthReason.IdentityMismatch:
      return 'identity_mismatch';
    case HealthReason.ClusterNotReady:
      return 'not_ready';
    default:
      return 'error';
  }
}

/** Refused or unusable credentials may have been rotated in the registry: fetch them again for the next probe. */
export function refetchCredentials(c: ProbeClassification): boolean {
  return c.reason === HealthReason.Unauthorized || c.reason === HealthReason.InvalidCredentials;
}

/** A failing cluster waits in the suspect lane, so that it holds no slot of the answering ones. */
export function laneFor(lastKind: ProbeResultKind | undefined): LaneName {
  return lastKind !== undefined && lastKind !== 'success' ? 'suspect' : 'main';
}

export interface ProbeOutcomeInput {
  /** The cluster as the registry last returned it. */
  cluster: Cluster;
  /** The hysteresis state before this probe. */
  health: HealthState;
  classification: ProbeClassification;
  /** Absent when no prober could be built. */
  observation?: ProbeObservation;
  /** The kubeconfig's client certificate expiry, when it authenticates with one. */
  certNotAfter?: Date;
  /** When the probe was taken. */
  at: Date;
}

export interface ProbeDecision {
  /** The hysteresis state after this probe. */
  health: HealthState;
  /** Set when Ready changes (status or reason): recorded as an event. */
  transition?: HealthTransition;
  /** The status the registry should hold. */
  status: ClusterStatus;
  /** Whether `status` differs from the stored one: only then is it written (ADR 0021). */
  write: boolean;
}

/** What a probe changes: the hysteresis step (ADR 0022), the status it implies, and whether that is a write. */
export function decideAfterProbe(input: ProbeOutcomeInput, config: HysteresisConfig): ProbeDecision {
  const { state, transition } = advanceHealth(input.health, input.classification, config);
  const notAfter = input.certNotAfter;
  const status = statusAfterProbe({
    current: input.cluster.status,
    health: state,
    observation: input.observation ?? { reachable: false, durationMs: 0 },
    identityMismatch: input.classification.reason === HealthReason.IdentityMismatch,
    ...(notAfter ? { certExpiresSoon: certificateExpiresWithin(notAfter, input.at, 7), certNotAfter: notAfter } : {}),
  });
  return { health: state, ...(transition ? { transition } : {}), status, write: statusDiffers(status, input.cluster.status) };
}

/** The cluster's interval: its annotation when valid, else the fleet's default. */
export function probeIntervalFor(cluster: Cluster, defaultIntervalMs: number): number {
  return parseProbeInterval(cluster.metadata.annotations?.[PROBE_INTERVAL_ANNOTATION]) ?? defaultIntervalMs;
}

export interface FirstProbeInput {
  now: number;
  /** When the scheduler started. */
  schedulerStartedAt: number;
  /** The fleet's default interval. */
  defaultIntervalMs: number;
  /** This cluster's interval. */
  intervalMs: number;
  /** A fixed spread window (tests); by default the rule below. */
  spreadMs?: number;
  /** A number in [0, 1): where in the window this cluster's phase falls. */
  random: number;
}

/**
 * A newly owned cluster is probed for the first time within this, whatever its interval: a replica
 * that starts with (or takes over) its share must have probed every cluster of it within 30 s
 * (issue 13), which leaves 10 s for the fleet list and the credentials.
 */
export const FIRST_PROBE_MAX_SPREAD_MS = 20_000;

/**
 * When a newly owned cluster is first probed, which sets its phase. During the scheduler's first
 * interval the window is the interval (the fleet arrives at once, and even phases mean an even
 * load); afterwards min(interval, 5 s), so a dead replica's clusters are probed by their new
 * owner soon after its lease expires (ADR 0026). A cluster whose own interval is longer than the
 * fleet's (annotation) starts within the fleet's interval all the same, and no window is longer
 * than FIRST_PROBE_MAX_SPREAD_MS.
 */
export function firstProbeAt(i: FirstProbeInput): number {
  const interval = Math.min(i.intervalMs, i.defaultIntervalMs);
  const window = i.now - i.schedulerStartedAt < i.defaultIntervalMs ? interval : Math.min(interval, 5000);
  const spread = i.spreadMs ?? Math.min(window, FIRST_PROBE_MAX_SPREAD_MS);
  return i.now + Math.floor(i.random * spread);
}

export interface NextProbeInput {
  /** The hysteresis state after the probe. */
  health: HealthState;
  /** This cluster's interval. */
  intervalMs: number;
  /** When the probe that just settled was due (its phase). */
  due?: number;
  /** When it started. */
  startedAt?: number;
  /** Now, after it settled. */
  now: number;
}

/**
 * When the next probe is due. After a failure, a retry after the backoff counted from now (ADR
 * 0022). When the delay is the whole interval (a success, a cluster confirmed False, or a backoff
 * grown to the interval), a fixed rate: one interval after this probe was due, not after it finished, so
 * a cluster is probed every interval (not interval + probe time) and the phases spread at start
 * stay spread; at once if that time has passed. A probe that started more than half an interval
 * late takes a new phase instead (now + interval): catching up would probe it twice in quick
 * succession, adding load exactly when the replica is behind (ADR 0026).
 */
export function nextProbeAt(i: NextProbeInput, config: ProbePolicyConfig): number {
  const interval = i.intervalMs;
  const delay = nextProbeDelay(i.health, { ...config, intervalMs: interval, retryBackoffMs: Math.min(config.retryBackoffMs, interval) });
  const late = i.due !== undefined && i.startedAt !== undefined && i.startedAt - i.due > interval / 2;
  return delay === interval && i.due !== undefined && !late ? Math.max(i.now, i.due + interval) : i.now + delay;
}

export type HealthLabel = 'ready' | 'not_ready' | 'unreachable' | 'unauthorized' | 'identity_mismatch' | 'unknown';

/** The `state` label of the flotilla_clusters gauge. */
export function healthLabel(h: HealthState): HealthLabel {
  if (h.ready === 'True') return 'ready';
  if (h.ready === 'Unknown') return 'unknown';
  if (h.reason === HealthReason.ClusterNotReachable) return 'unreachable';
  if (h.reason === HealthReason.Unauthorized) return 'unauthorized';
  if (h.reason === HealthReason.IdentityMismatch) return 'identity_mismatch';
  return 'not_ready';
}
