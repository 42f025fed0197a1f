import { type Cluster, type ClusterStatus, FlotillaError, type HealthState, type HealthTransition, type HysteresisConfig, type ProbeObservation } from '@flotilla/domain';
import { ProbeAttempt, ProbeResultKind, classifyAttempt, decideAfterProbe, refetchCredentials, resultKind } from './probe-policy';

/** What a prober for one cluster offers (libs/kube ClusterProber in production). */
export interface Prober {
  /** `expectedUid`: the recorded kube-system UID, when there is one (a mismatch is never probed lightly). */
  probe(expectedUid?: string): Promise<ProbeObservation>;
  close(): void;
  readonly clientCertificateNotAfter?: Date;
  /**
   * How long the event loop that ran the last probe stalled during it, when that loop is not this
   * one (a probe worker's, ADR 0040); it counts as this replica's stall (ADR 0039).
   */
  readonly stalledMs?: number;
}

/** One cluster as the cycle sees it; the cycle updates it in place. */
export interface ProbeTarget {
  readonly name: string;
  /** The cluster as the registry last returned it. */
  cluster: Cluster;
  health: HealthState;
  lastKind?: ProbeResultKind;
  prober?: Prober;
  /** The cluster generation the prober was built from. */
  proberGeneration?: number;
}

export interface ProbeCycleDeps {
  /** Builds a prober from the cluster's stored credentials; throws when they cannot be used. */
  createProber(cluster: Cluster): Promise<Prober>;
  writeStatus(name: string, status: ClusterStatus): Promise<Cluster>;
  /** A Ready transition: stored as an event and published for automation. */
  recordTransition(cluster: Cluster, transition: HealthTransition, at: Date): Promise<void>;
  /** When the cluster was last probed (kept outside the stored status; see ADR 0021). */
  probed(name: string, at: Date): void;
  observe?(result: ProbeResultKind, seconds: number): void;
  onError?(name: string, stage: string, error: unknown): void;
  now(): number;
  /**
   * Milliseconds this replica's event loop stalled since a performance.now() time (LoopStallMeter).
   * Unset: every timeout counts against the member.
   */
  stalledSince?(since: number): number;
  /** A probe that timed out while the replica itself was stalled: not counted (ADR 0039). */
  inconclusive?(name: string): void;
}

export interface ProbeCycleConfig extends HysteresisConfig {
  /** The probe timeout; a timed-out probe during which the replica stalled for half of it is not counted. */
  timeoutMs?: number;
}

/**
 * One probe of one cluster, start to end: probe, classify, hysteresis (probe-policy.ts), then the
 * event and the status write. A transition's event is recorded BEFORE the status that shows it is
 * written, so whoever sees the new status (a REST client, a watcher) can already list its event.
 * If the event cannot be recorded, the status is written anyway (the status is the truth; the
 * failure is reported); if the write fails, the next probe computes the same status and writes it.
 */
export class ProbeCycle {
  constructor(
    private readonly config: ProbeCycleConfig,
    private readonly deps: ProbeCycleDeps,
  ) {}

  /**
   * `active` turns false when the cluster is dropped or the scheduler stops: nothing is written then.
   * `probed` is called once the member has answered (or not): the rest (event, status write) waits
   * on the registry, not on the member, and needs no probe slot.
   */
  async run(t: ProbeTarget, active: () => boolean, probed?: () => void): Promise<void> {
    const started = this.deps.now();
    const attempt = await this.attempt(t);
    probed?.();
    // The registry could not hand out the credentials (it, or Postgres behind it, is down): nothing
    // is known about the member, so nothing changes; the next cycle tries again.
    if (attempt === REGISTRY_UNAVAILABLE) return;
    // The replica's own event loop stalled through the timeout: whether the member answered in time
    // is unknown, so nothing changes and the next cycle probes again (ADR 0039). A member that
    // refuses, resets or answers an error is still counted: only a timeout can be the replica's doing.
    // So is a probe the replica could not run (its probe worker exited, ADR 0040).
    if (this.stalledThrough(attempt, t.prober) || isReplicaFault(attempt)) {
      this.deps.inconclusive?.(t.name);
      return;
    }
    const classification = classifyAttempt(attempt, t.cluster.status?.uid);
    const kind = resultKind(classification);
    t.lastKind = kind;
    this.deps.observe?.(kind, (this.deps.now() - started) / 1000);
    if (!active()) return;
    const at = new Date(this.deps.now());
    this.deps.probed(t.name, at);
    if (refetchCredentials(classification)) {
      t.prober?.close();
      t.prober = undefined;
    }
    const decision = decideAfterProbe(
      {
        cluster: t.cluster,
        health: t.health,
        classification,
        ...('observation' in attempt ? { observation: attempt.observation } : {}),
        ...(t.prober?.clientCertificateNotAfter ? { certNotAfter: t.prober.clientCertificateNotAfter } : {}),
        at,
      },
      this.config,
    );
    t.health = decision.health;
    if (decision.transition) {
      await this.deps.recordTransition(t.cluster, decision.transition, at).catch((error: unknown) => this.deps.onError?.(t.name, 'event', error));
    }
    if (!decision.write) return;
    try {
      const written = await this.deps.writeStatus(t.name, decision.status);
      if (active()) t.cluster = written;
    } catch (error) {
      // The next probe computes the same desired status and writes again.
      this.deps.onError?.(t.name, 'write', error);
    }
  }

  private stalledThrough(attempt: ProbeAttempt, prober: Prober | undefined): boolean {
    if (!this.config.timeoutMs || !('observation' in attempt)) return false;
    const o = attempt.observation;
    if (o.reachable || o.errorCode !== 'ETIMEDOUT') return false;
    const own = this.deps.stalledSince?.(performance.now() - o.durationMs) ?? 0;
    return Math.max(own, prober?.stalledMs ?? 0) >= this.config.timeoutMs * STALLED_FRACTION;
  }

  private async attempt(t: ProbeTarget): Promise<ProbeAttempt | typeof REGISTRY_UNAVAILABLE> {
    try {
      if (!t.prober) {
        t.prober = await this.deps.createProber(t.cluster);
        t.proberGeneration = t.cluster.metadata.generation;
      }
      return { observation: await t.prober.probe(t.cluster.status?.uid) };
    } catch (error) {
      this.deps.onError?.(t.name, 'credentials', error);
      // Only credentials the registry returned and that cannot be used make InvalidCredentials;
      // a registry that did not answer says nothing about them (issue 13's fault suite saw healthy
      // members go Ready=False InvalidCredentials during a Postgres restart).
      if (!t.prober && isUnavailable(error)) return REGISTRY_UNAVAILABLE;
      return { credentialsUnusable: true };
    }
  }
}

const REGISTRY_UNAVAILABLE = Symbol('registry-unavailable');

/** The errorCode of a probe the replica could not run (its probe worker exited or lost the prober): says nothing about the member. */
export const REPLICA_FAULT = 'EREPLICA';

/** The observation of a probe the replica could not run (REPLICA_FAULT). */
export const replicaFault = (): ProbeObservation => ({ reachable: false, errorCode: REPLICA_FAULT, durationMs: 0 });

const isReplicaFault = (attempt: ProbeAttempt) => 'observation' in attempt && !attempt.observation.reachable && attempt.observation.errorCode === REPLICA_FAULT;

/** The share of the probe timeout the replica's loop must have stalled for a timeout not to count (ADR 0039). */
export const STALLED_FRACTION = 0.5;

const isUnavailable = (error: unknown) => error instanceof FlotillaError && FlotillaError.isRetryable(error);
