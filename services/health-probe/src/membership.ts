import { createHash, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface MembershipOptions {
  keyPrefix: string;
  ttlMs: number;
  heartbeatMs: number;
  replicaId?: string;
  /** The local clock that times the fence (Date.now by default); the set's scores use Redis time. */
  now?: () => number;
}

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
 * Replica membership in Redis: each replica heartbeats its id into a sorted set scored by
 * Redis time; the live set is every id heard from within the TTL. Ownership of a cluster is
 * the rendezvous hash of its name over the live set, so every replica agrees without talking
 * to the others and only the dead replica's clusters move. A replica that cannot heartbeat
 * for half the TTL fences itself (owns nothing) so a paused or partitioned one stops probing
 * before the others take over.
 */
export class ReplicaMembership {
  readonly id: string;
  private readonly key: string;
  private live: string[] = [];
  private lastHeartbeatOk = 0;
  private timer?: NodeJS.Timeout;
  private listeners: ((live: readonly string[]) => void)[] = [];
  private readonly now: () => number;

  constructor(
    private readonly redis: Redis,
    private readonly options: MembershipOptions,
  ) {
    this.id = options.replicaId ?? randomUUID();
    this.key = `${options.keyPrefix}:health-probe:replicas`;
    this.now = options.now ?? Date.now;
  }

  onChange(listener: (live: readonly string[]) => void): void {
    this.listeners.push(listener);
  }

  liveReplicas(): readonly string[] {
    return this.fenced() ? [] : this.live;
  }

  private fenced(): boolean {
    return this.now() - this.lastHeartbeatOk > this.options.ttlMs / 2;
  }

  owns(clusterName: string): boolean {
    if (this.fenced()) return false;
    return rendezvousOwner(clusterName, this.live) === this.id;
  }

  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.options.heartbeatMs);
    this.timer.unref();
  }

  /** One heartbeat: refresh our score, drop the dead, read the live set. */
  async beat(): Promise<void> {
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
      // After a fence lifts the set may look unchanged, but this replica dropped its clusters: tell the listeners.
      if (wasFenced || members.join(',') !== this.live.join(',')) {
        this.live = members;
        for (const l of this.listeners) l(this.live);
      }
    } catch {
      // Redis unreachable: fenced() turns true after ttl/2 and this replica stops probing.
      if (this.fenced()) for (const l of this.listeners) l([]);
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
