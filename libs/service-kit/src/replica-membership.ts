import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface MembershipOptions {
  keyPrefix: string;
  /** Which service's replicas share the work (the set's key); health-probe by default. */
  group?: string;
  ttlMs: number;
  heartbeatMs: number;
  replicaId?: string;
  /**
   * How long a replica that cannot heartbeat keeps probing the share it last held (ADR 0033),
   * measured from its last successful heartbeat. Past it the replica fences itself (owns nothing).
   * Defaults to 5 minutes.
   */
  graceMs?: number;
  /** The local clock that times the fence (Date.now by default); the set's scores use Redis time. */
  now?: () => number;
}

/** ADR 0033: how long a replica probes its last share without a heartbeat. */
export const DEFAULT_GRACE_MS = 300_000;

/** The highest-random-weight (rendezvous) owner of a key among replicas; stable, no coordination. */
export function rendezvousOwner(key: string, replicas: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1n;
  for (const r of replicas) {
    const score = createHash('sha1').update(r).update('\0').update(key).digest().readBigUInt64BE(0);
    if (score > bestScore || (score === bestScore && best !== undefined && r < best)) {
      best = r;
      bestScore = score;
    }
  }
  return best;
}

/**
 * Replica membership in Redis (shared by health-probe and federation-sync, each with its own
 * `group`): each replica heartbeats its id into a sorted set scored by
 * Redis time; the live set is every id heard from within the TTL. Ownership of a cluster is
 * the rendezvous hash of its name over the live set, so every replica agrees without talking
 * to the others and only the dead replica's clusters move.
 *
 * When Redis does not answer (ADR 0033, replacing ADR 0020's fence at TTL/2), a replica keeps the
 * live set it last read, and with it the share it last held, for `graceMs`: an outage of Redis
 * for the whole fleet leaves every cluster probed by the replica that probed it before. A replica
 * cut off alone is dropped by the others after the TTL and its share is probed twice until its
 * grace ends; then it fences itself (owns nothing) until a heartbeat succeeds again.
 */
export class ReplicaMembership {
  readonly id: string;
  private readonly key: string;
  private live: string[] = [];
  private lastHeartbeatOk = 0;
  private timer?: NodeJS.Timeout;
  private listeners: ((live: readonly string[]) => void)[] = [];
  private readonly now: () => number;
  private readonly graceMs: number;
  private beating = false;
  /** The fence was announced to the listeners (once per fence). */
  private fenceAnnounced = false;

  constructor(
    private readonly redis: Redis,
    private readonly options: MembershipOptions,
  ) {
    this.id = options.replicaId ?? randomUUID();
    this.key = `${options.keyPrefix}:${options.group ?? 'health-probe'}:replicas`;
    this.now = options.now ?? Date.now;
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  }

  onChange(listener: (live: readonly string[]) => void): void {
    this.listeners.push(listener);
  }

  liveReplicas(): readonly string[] {
    return this.fenced() ? [] : this.live;
  }

  /** No heartbeat for longer than the grace (or none yet): owns nothing. */
  fenced(): boolean {
    return this.now() - this.lastHeartbeatOk > this.graceMs;
  }

  /** Heartbeats fail (Redis unreachable) but the grace still holds: probing the last known share. */
  degraded(): boolean {
    return this.lastHeartbeatOk > 0 && !this.fenced() && this.now() - this.lastHeartbeatOk > this.options.ttlMs / 2;
  }

  /** Milliseconds since the last successful heartbeat (0 right after one). */
  sinceLastHeartbeatMs(): number {
    return this.lastHeartbeatOk === 0 ? Number.POSITIVE_INFINITY : this.now() - this.lastHeartbeatOk;
  }

  /** This replica owns the key (a cluster name, a federated object's key) among the live replicas. */
  owns(key: string): boolean {
    if (this.fenced()) return false;
    return rendezvousOwner(key, this.live) === this.id;
  }

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.options.heartbeatMs);
    this.timer.unref();
  }

  /** One heartbeat: refresh our score, drop the dead, read the live set. */
  async beat(): Promise<void> {
    // A beat against a hung Redis lasts up to the command timeout: never two at once.
    if (this.beating) return;
    this.beating = true;
    try {
      const [seconds, micros] = await this.redis.time();
      const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      const result = await this.redis
        .multi()
        .zadd(this.key, now, this.id)
        .zremrangebyscore(this.key, '-inf', now - this.options.ttlMs)
        .zrange(this.key, 0, -1)
        .pexpire(this.key, this.options.ttlMs * 10)
        .exec();
      const members = ((result?.[2]?.[1] as string[] | undefined) ?? []).slice().sort();
      const wasFenced = this.fenced();
      this.lastHeartbeatOk = this.now();
      this.fenceAnnounced = false;
      // After a fence lifts the set may look unchanged, but this replica dropped its clusters: tell the listeners.
      if (wasFenced || members.join(',') !== this.live.join(',')) {
        this.live = members;
        for (const l of this.listeners) l(this.live);
      }
    } catch {
      // Redis unreachable: keep the last live set (and share) until the grace ends, then fence.
      if (this.fenced() && !this.fenceAnnounced) {
        this.fenceAnnounced = true;
        for (const l of this.listeners) l([]);
      }
    } finally {
      this.beating = false;
    }
  }

  /** Leave the set at once so the others take over without waiting for the TTL. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.redis.zrem(this.key, this.id).catch(() => undefined);
    this.live = [];
  }
}
