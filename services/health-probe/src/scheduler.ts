import {
  Cluster,
  ClusterConditionType,
  ClusterStatus,
  HealthReason,
  HealthState,
  HealthTransition,
  ProbeClassification,
  ProbeObservation,
  PROBE_INTERVAL_ANNOTATION,
  advanceHealth,
  certificateExpiresWithin,
  classifyProbe,
  findCondition,
  initialHealthState,
  nextProbeDelay,
  parseProbeInterval,
  statusAfterProbe,
  statusDiffers,
} from '@flotilla/domain';

/** What a prober for one cluster offers (libs/kube ClusterProber in production). */
export interface Prober {
  probe(): Promise<ProbeObservation>;
  close(): void;
  readonly clientCertificateNotAfter?: Date;
}

export interface SchedulerDeps {
  /** Builds a prober from the cluster's stored credentials; throws when they cannot be used. */
  createProber(cluster: Cluster): Promise<Prober>;
  writeStatus(name: string, status: ClusterStatus): Promise<Cluster>;
  /** A Ready transition: stored as an event and published for automation. */
  recordTransition(cluster: Cluster, transition: HealthTransition, at: Date): Promise<void>;
  /** Whether this replica owns the cluster now. */
  owns(name: string): boolean;
  /** When the cluster was last probed (kept outside the registry; see ADR 0021). */
  probed(name: string, at: Date): void;
  observe?(result: ProbeResultKind, seconds: number): void;
  /** How late a probe started against when it was due (queue wait: the replica is behind when this grows). */
  observeLag?(seconds: number): void;
  onError?(name: string, stage: string, error: unknown): void;
  now?(): number;
}

export type ProbeResultKind = 'success' | 'unreachable' | 'not_ready' | 'unauthorized' | 'identity_mismatch' | 'error';

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
  /**
   * A newly owned cluster's first probe comes at a random point of this window, which sets its phase.
   * Default: the whole interval during the scheduler's first interval (the fleet arrives at once, and
   * even phases mean an even load), then min(interval, 5 s), so a dead replica's clusters are probed
   * by their new owner soon after its lease expires.
   */
  spreadMs?: number;
  tickMs?: number;
}

interface Entry {
  name: string;
  cluster: Cluster;
  health: HealthState;
  lastKind?: ProbeResultKind;
  prober?: Prober;
  proberGeneration?: number;
  slot?: number;
  /** When the current (or next) probe was due: the phase that the steady cadence keeps. */
  due?: number;
  queued: boolean;
  inFlight: boolean;
  /** The lane whose slot the probe in flight holds. */
  lane?: Lane;
  /** Counts probes of this entry, so that a stale slow-lane check never moves a later probe. */
  probeSeq: number;
  /** When the probe in flight (or the last one) started. */
  startedAt?: number;
  removed: boolean;
}

/** An array-backed FIFO whose taken head is dropped in chunks (Array.shift is O(n) per call). */
class Fifo<T> {
  private readonly items: T[] = [];
  private head = 0;

  push(item: T): void {
    this.items.push(item);
  }

  get size(): number {
    return this.items.length - this.head;
  }

  peek(): T | undefined {
    return this.size > 0 ? this.items[this.head] : undefined;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }
}

/** The due clusters and the probes in flight for one concurrency bound. */
class Lane {
  readonly due = new Fifo<string>();
  running = 0;

  constructor(readonly limit: number) {}

  /** The next due cluster when a slot is free. */
  take(): string | undefined {
    return this.running < this.limit ? this.due.shift() : undefined;
  }
}

/** Only clusters the import has finished (Initialized=True) and not being deleted are probed. */
export function isProbeable(c: Cluster): boolean {
  return !c.metadata.deletionTimestamp && findCondition(c.status?.conditions, ClusterConditionType.Initialized)?.status === 'True';
}

/**
 * Probes every owned cluster on its interval. Timers are a wheel of `tickMs` slots, so 10,000
 * clusters cost one small timer; due clusters wait in a FIFO and at most `concurrency` probes
 * run at once. An entry is rescheduled only after its probe settles, so probes of one cluster
 * never overlap, and each probe has its own timeout inside the prober.
 */
export class ProbeScheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly wheel = new Map<number, Set<string>>();
  private readonly main: Lane;
  private readonly suspect: Lane;
  /** Main-lane probes in start order, to move those running longer than slowAfterMs. */
  private readonly started = new Fifo<{ e: Entry; seq: number; at: number }>();
  private readonly slowAfterMs: number;
  private lastSlot: number;
  private timer?: NodeJS.Timeout;
  private readonly tickMs: number;
  private readonly now: () => number;
  private readonly settled = new Set<Promise<void>>();
  private stopped = false;
  private startedAt = 0;

  constructor(
    private readonly config: SchedulerConfig,
    private readonly deps: SchedulerDeps,
  ) {
    this.tickMs = config.tickMs ?? 50;
    this.now = deps.now ?? Date.now;
    this.main = new Lane(config.concurrency);
    this.suspect = new Lane(config.suspectConcurrency ?? config.concurrency * 5);
    this.slowAfterMs = config.slowAfterMs ?? 1000;
    this.lastSlot = Math.floor(this.now() / this.tickMs);
  }

  start(): void {
    this.stopped = false;
    this.startedAt = this.now();
    this.timer = setInterval(() => this.tick(), this.tickMs);
  }

  /** Stop taking work and wait for probes in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.settled]);
    for (const e of this.entries.values()) e.prober?.close();
    this.entries.clear();
    this.wheel.clear();
  }

  size(): number {
    return this.entries.size;
  }

  /** Clusters per state for the flotilla_clusters gauge. */
  counts(): Record<string, number> {
    const out: Record<string, number> = { ready: 0, not_ready: 0, unreachable: 0, unauthorized: 0, identity_mismatch: 0, unknown: 0 };
    for (const e of this.entries.values()) {
      if (e.health.ready === 'True') out.ready++;
      else if (e.health.ready === 'Unknown') out.unknown++;
      else if (e.health.reason === HealthReason.ClusterNotReachable) out.unreachable++;
      else if (e.health.reason === HealthReason.Unauthorized) out.unauthorized++;
      else if (e.health.reason === HealthReason.IdentityMismatch) out.identity_mismatch++;
      else out.not_ready++;
    }
    return out;
  }

  /** Per lane: probes due and waiting for a slot, and probes running. */
  load(): Record<'main' | 'suspect', { queued: number; inFlight: number }> {
    return {
      main: { queued: this.main.due.size, inFlight: this.main.running },
      suspect: { queued: this.suspect.due.size, inFlight: this.suspect.running },
    };
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
      existing.cluster = cluster;
      return;
    }
    const ready = findCondition(cluster.status?.conditions, ClusterConditionType.Ready);
    const entry: Entry = {
      name,
      cluster,
      health: initialHealthState(ready?.status ?? 'Unknown', ready?.reason, ready?.message),
      queued: false,
      inFlight: false,
      probeSeq: 0,
      removed: false,
    };
    this.entries.set(name, entry);
    const now = this.now();
    const interval = this.intervalFor(entry);
    const spread = this.config.spreadMs ?? (now - this.startedAt < this.config.intervalMs ? interval : Math.min(interval, 5000));
    this.schedule(entry, now + Math.floor(Math.random() * spread));
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
    this.unschedule(e);
    if (!e.inFlight) e.prober?.close();
    this.entries.delete(e.name);
  }

  private schedule(e: Entry, at: number): void {
    this.unschedule(e);
    const slot = Math.max(Math.ceil(at / this.tickMs), this.lastSlot + 1);
    let bucket = this.wheel.get(slot);
    if (!bucket) this.wheel.set(slot, (bucket = new Set()));
    bucket.add(e.name);
    e.slot = slot;
    e.due = at;
  }

  private unschedule(e: Entry): void {
    if (e.slot === undefined) return;
    const bucket = this.wheel.get(e.slot);
    bucket?.delete(e.name);
    if (bucket && bucket.size === 0) this.wheel.delete(e.slot);
    e.slot = undefined;
  }

  /**
   * Move due entries to their lane's FIFO (the suspect lane when the last probe failed), move
   * main-lane probes running longer than slowAfterMs to the suspect lane, and start probes up to
   * each lane's bound.
   */
  tick(): void {
    if (this.stopped) return;
    const now = this.now();
    const current = Math.floor(now / this.tickMs);
    for (let s = this.lastSlot + 1; s <= current; s++) {
      const bucket = this.wheel.get(s);
      if (!bucket) continue;
      this.wheel.delete(s);
      for (const name of bucket) {
        const e = this.entries.get(name);
        if (!e || e.queued || e.inFlight) continue;
        e.slot = undefined;
        e.queued = true;
        (this.isSuspect(e) ? this.suspect : this.main).due.push(name);
      }
    }
    this.lastSlot = current;
    this.moveSlowProbes(now);
    this.dispatch();
  }

  private isSuspect(e: Entry): boolean {
    return e.lastKind !== undefined && e.lastKind !== 'success';
  }

  /** A probe slow to answer waits in the suspect lane: it no longer holds up the answering clusters. */
  private moveSlowProbes(now: number): void {
    for (let s = this.started.peek(); s && s.at + this.slowAfterMs <= now; s = this.started.peek()) {
      this.started.shift();
      const { e, seq } = s;
      if (!e.inFlight || e.probeSeq !== seq || e.lane !== this.main) continue;
      if (this.suspect.running >= this.suspect.limit) continue;
      this.main.running--;
      this.suspect.running++;
      e.lane = this.suspect;
    }
  }

  private dispatch(): void {
    for (const lane of [this.main, this.suspect]) {
      for (let name = lane.take(); name !== undefined; name = lane.take()) {
        const e = this.entries.get(name);
        if (!e || e.removed) continue;
        e.queued = false;
        if (!this.deps.owns(name)) {
          this.drop(e);
          continue;
        }
        this.begin(e, lane);
      }
    }
  }

  private begin(e: Entry, lane: Lane): void {
    const now = this.now();
    lane.running++;
    e.lane = lane;
    e.inFlight = true;
    const seq = ++e.probeSeq;
    e.startedAt = now;
    if (lane === this.main) this.started.push({ e, seq, at: now });
    if (e.due !== undefined) this.deps.observeLag?.(Math.max(0, now - e.due) / 1000);
    const p = this.probeOne(e).finally(() => {
      e.lane!.running--;
      e.lane = undefined;
      e.inFlight = false;
      this.settled.delete(p);
      if (e.removed) e.prober?.close();
      if (!this.stopped) this.dispatch();
    });
    this.settled.add(p);
  }

  private intervalFor(e: Entry): number {
    return parseProbeInterval(e.cluster.metadata.annotations?.[PROBE_INTERVAL_ANNOTATION]) ?? this.config.intervalMs;
  }

  private async probeOne(e: Entry): Promise<void> {
    const started = this.now();
    let observation: ProbeObservation | undefined;
    let classification: ProbeClassification;
    try {
      if (!e.prober) {
        e.prober = await this.deps.createProber(e.cluster);
        e.proberGeneration = e.cluster.metadata.generation;
      }
      observation = await e.prober.probe();
      classification = classifyProbe(observation, e.cluster.status?.uid);
    } catch (error) {
      this.deps.onError?.(e.name, 'credentials', error);
      classification = {
        verdict: 'failure',
        reachable: false,
        healthy: false,
        reason: HealthReason.InvalidCredentials,
        message: 'The stored kubeconfig cannot be used to reach the cluster; update it.',
      };
    }
    const kind = resultKind(classification);
    e.lastKind = kind;
    this.deps.observe?.(kind, (this.now() - started) / 1000);
    if (e.removed || this.stopped) return;
    const at = new Date(this.now());
    this.deps.probed(e.name, at);
    // Refused credentials may have been rotated in the registry: fetch them again next time.
    if (classification.reason === HealthReason.Unauthorized || classification.reason === HealthReason.InvalidCredentials) {
      e.prober?.close();
      e.prober = undefined;
    }
    const { state, transition } = advanceHealth(e.health, classification, this.config);
    e.health = state;
    const notAfter = e.prober?.clientCertificateNotAfter;
    const desired = statusAfterProbe({
      current: e.cluster.status,
      health: state,
      observation: observation ?? { reachable: false, durationMs: 0 },
      identityMismatch: classification.reason === HealthReason.IdentityMismatch,
      ...(notAfter ? { certExpiresSoon: certificateExpiresWithin(notAfter, at, 7), certNotAfter: notAfter } : {}),
    });
    try {
      if (statusDiffers(desired, e.cluster.status)) {
        const written = await this.deps.writeStatus(e.name, desired);
        if (!e.removed) e.cluster = written;
      }
    } catch (error) {
      // The next probe computes the same desired status and writes again.
      this.deps.onError?.(e.name, 'write', error);
    }
    if (transition) await this.deps.recordTransition(e.cluster, transition, at).catch((error: unknown) => this.deps.onError?.(e.name, 'event', error));
    if (!e.removed && !this.stopped) {
      const interval = this.intervalFor(e);
      const delay = nextProbeDelay(state, { ...this.config, intervalMs: interval, retryBackoffMs: Math.min(this.config.retryBackoffMs, interval) });
      // Steady cadence at a fixed rate: the next probe is due one interval after this one was due,
      // not after it finished, so a cluster is probed every interval (not interval + probe time)
      // and the phases spread at start stay spread. A probe that started more than half an
      // interval late takes a new phase instead (next = now + interval): catching up would probe
      // it twice in quick succession, adding load exactly when the replica is behind. A retry
      // after a failure counts from now.
      const now = this.now();
      const late = e.due !== undefined && e.startedAt !== undefined && e.startedAt - e.due > interval / 2;
      const at = delay === interval && e.due !== undefined && !late ? Math.max(now, e.due + interval) : now + delay;
      this.schedule(e, at);
    }
  }
}

function resultKind(c: ProbeClassification): ProbeResultKind {
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
