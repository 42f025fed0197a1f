import { Cluster, ClusterConditionType, HealthState, findCondition, initialHealthState } from '@flotilla/domain';
import { ProbeCycle, ProbeCycleDeps, ProbeTarget } from './probe-cycle';
import { HealthLabel, firstProbeAt, healthLabel, isProbeable, laneFor, nextProbeAt, probeIntervalFor } from './probe-policy';
import { ProbeQueue } from './probe-queue';

export type { Prober } from './probe-cycle';
export type { ProbeResultKind } from './probe-policy';
export { isProbeable } from './probe-policy';

export interface SchedulerDeps extends Omit<ProbeCycleDeps, 'now'> {
  /** Whether this replica owns the cluster now. */
  owns(name: string): boolean;
  /** How late a probe started against when it was due (queue wait: the replica is behind when this grows). */
  observeLag?(seconds: number): void;
  now?(): number;
  /** A number in [0, 1) that places a new cluster's first probe in its window (Math.random by default). */
  random?(): number;
  /** A cluster was taken: its prober will be built soon, so its credentials can be read ahead (in a batch with the others). */
  prefetch?(name: string): void;
  /** Credentials read ahead for this cluster are stale or no longer needed. */
  forget?(name: string): void;
}

export interface SchedulerConfig {
  intervalMs: number;
  timeoutMs: number;
  failureThreshold: number;
  successThreshold: number;
  /** Probes in flight in the main lane: clusters whose last probe succeeded. */
  concurrency: number;
  /**
   * Probes in flight in the suspect lane: clusters whose last probe failed, and main-lane probes
   * still running after `slowAfterMs`. A hanging member waits there, holding no main-lane slot.
   * Default: 5 × concurrency.
   */
  suspectConcurrency?: number;
  /** A main-lane probe in flight this long moves to the suspect lane (default 1000 ms). */
  slowAfterMs?: number;
  retryBackoffMs: number;
  /** A newly owned cluster's first probe comes at a random point of this window (default: see firstProbeAt). */
  spreadMs?: number;
  tickMs?: number;
}

interface Entry extends ProbeTarget {
  removed: boolean;
}

/**
 * Probes every owned cluster on its interval. It holds the clusters this replica owns and joins
 * the two parts: the queue (probe-queue.ts: when a probe runs, how many at once) and the probe
 * cycle (probe-cycle.ts: what one probe does). The rules both follow are pure functions in
 * probe-policy.ts.
 */
export class ProbeScheduler {
  private readonly entries = new Map<string, Entry>();
  /** Entries whose probe is running: a dropped one closes its prober when the probe settles. */
  private readonly inFlight = new Set<Entry>();
  private readonly queue: ProbeQueue;
  private readonly cycle: ProbeCycle;
  private readonly now: () => number;
  private readonly random: () => number;
  private stopped = false;
  private startedAt = 0;

  constructor(
    private readonly config: SchedulerConfig,
    private readonly deps: SchedulerDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.cycle = new ProbeCycle(config, { ...deps, now: this.now });
    this.queue = new ProbeQueue(
      {
        concurrency: config.concurrency,
        suspectConcurrency: config.suspectConcurrency ?? config.concurrency * 5,
        slowAfterMs: config.slowAfterMs ?? 1000,
        tickMs: config.tickMs ?? 50,
        now: this.now,
      },
      {
        laneFor: (name) => laneFor(this.entries.get(name)?.lastKind),
        admit: (name) => this.admit(name),
        run: (name, timing, release) => this.probe(name, timing, release),
      },
    );
  }

  start(): void {
    this.stopped = false;
    this.startedAt = this.now();
    this.queue.start();
  }

  /** Stop taking work and wait for probes in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    // Probes in flight are cut short (their connections closed): nothing they learn is written
    // after the stop, and a member that hangs must not hold the shutdown for the probe timeout.
    for (const e of this.inFlight) e.prober?.close();
    await this.queue.stop();
    for (const e of this.entries.values()) e.prober?.close();
    this.entries.clear();
  }

  /** Moves due probes to their lanes and starts those a slot is free for (the queue's timer calls it). */
  tick(): void {
    this.queue.tick();
  }

  size(): number {
    return this.entries.size;
  }

  /** Clusters per state for the flotilla_clusters gauge. */
  counts(): Record<HealthLabel, number> {
    const out: Record<HealthLabel, number> = { ready: 0, not_ready: 0, unreachable: 0, unauthorized: 0, identity_mismatch: 0, unknown: 0 };
    for (const e of this.entries.values()) out[healthLabel(e.health)]++;
    return out;
  }

  /** Clusters this replica owns and has not probed yet since it took them (a cold start or a takeover in progress). */
  unprobed(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.lastKind === undefined) n++;
    return n;
  }

  /** Per lane: probes due and waiting for a slot, and probes running. */
  load(): ReturnType<ProbeQueue['load']> {
    return this.queue.load();
  }

  health(name: string): HealthState | undefined {
    return this.entries.get(name)?.health;
  }

  /** A cluster appeared or changed in the registry (or became ours). */
  upsert(cluster: Cluster): void {
    const name = cluster.metadata.name;
    const existing = this.entries.get(name);
    if (!isProbeable(cluster) || !this.deps.owns(name)) {
      if (existing) this.drop(existing);
      return;
    }
    if (existing) {
      if (existing.proberGeneration !== undefined && existing.proberGeneration !== cluster.metadata.generation) {
        existing.prober?.close();
        existing.prober = undefined;
      }
      if (existing.cluster.metadata.generation !== cluster.metadata.generation) this.deps.forget?.(name);
      existing.cluster = cluster;
      return;
    }
    const ready = findCondition(cluster.status?.conditions, ClusterConditionType.Ready);
    const entry: Entry = { name, cluster, health: initialHealthState(ready?.status ?? 'Unknown', ready?.reason, ready?.message), removed: false };
    this.entries.set(name, entry);
    this.deps.prefetch?.(name);
    const now = this.now();
    const at = firstProbeAt({
      now,
      schedulerStartedAt: this.startedAt,
      defaultIntervalMs: this.config.intervalMs,
      intervalMs: probeIntervalFor(cluster, this.config.intervalMs),
      ...(this.config.spreadMs !== undefined ? { spreadMs: this.config.spreadMs } : {}),
      random: this.random(),
    });
    this.queue.schedule(name, at);
  }

  remove(name: string): void {
    const e = this.entries.get(name);
    if (e) this.drop(e);
  }

  /** Drop entries this replica no longer owns (after a membership change). */
  rebalance(all: Iterable<Cluster>): void {
    for (const e of [...this.entries.values()]) if (!this.deps.owns(e.name)) this.drop(e);
    for (const c of all) if (!this.entries.has(c.metadata.name)) this.upsert(c);
  }

  private drop(e: Entry): void {
    e.removed = true;
    this.deps.forget?.(e.name);
    this.queue.remove(e.name);
    if (!this.inFlight.has(e)) e.prober?.close();
    this.entries.delete(e.name);
  }

  /** A due cluster taken from its lane: probed only while this replica still owns it. */
  private admit(name: string): boolean {
    const e = this.entries.get(name);
    if (!e || e.removed) return false;
    if (this.deps.owns(name)) return true;
    this.drop(e);
    return false;
  }

  private async probe(name: string, timing: { due?: number; startedAt: number }, release: () => void): Promise<void> {
    const e = this.entries.get(name)!;
    const active = () => !e.removed && !this.stopped;
    if (timing.due !== undefined) this.deps.observeLag?.(Math.max(0, timing.startedAt - timing.due) / 1000);
    this.inFlight.add(e);
    try {
      await this.cycle.run(e, active, release);
      if (active()) {
        const intervalMs = probeIntervalFor(e.cluster, this.config.intervalMs);
        this.queue.schedule(name, nextProbeAt({ health: e.health, intervalMs, due: timing.due, startedAt: timing.startedAt, now: this.now() }, this.config));
      }
    } catch (error) {
      this.deps.onError?.(name, 'probe', error);
    } finally {
      this.inFlight.delete(e);
      if (e.removed) e.prober?.close();
    }
  }
}
