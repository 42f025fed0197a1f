import type { Redis } from 'ioredis';
import { Cluster, HealthTransition } from '@flotilla/domain';

/** The Redis stream automation reads Ready transitions from (consumer groups, XREADGROUP). */
export const healthEventStream = (prefix: string) => `${prefix}:events:cluster-health`;

/** One Ready transition as automation sees it: names, states and reasons only, never credentials. */
export interface ClusterHealthEvent {
  /**
   * The transition's id, the same as the name of its event in the registry (REST
   * .../clusters/{name}/events). An event published again after a Redis failure (the XADD may have
   * landed before its reply was lost) carries the same id: consumers deduplicate by it.
   */
  eventId: string;
  cluster: string;
  clusterUid: string;
  type: 'Ready';
  from: string;
  to: string;
  reason: string;
  message: string;
  time: string;
}

export function toHealthEvent(cluster: Cluster, t: HealthTransition, at: Date, eventId: string): ClusterHealthEvent {
  return {
    eventId,
    cluster: cluster.metadata.name,
    clusterUid: cluster.metadata.uid ?? '',
    type: 'Ready',
    from: t.from,
    to: t.to,
    reason: t.reason,
    message: t.message,
    time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}

export interface HealthEventStreamOptions {
  prefix: string;
  /** Stream entries kept for automation (XADD MAXLEN ~). */
  maxLen: number;
  /** Events kept in memory while Redis does not answer; past it the oldest are dropped (and counted). */
  capacity: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  onDropped?(n: number): void;
  onError?(error: unknown): void;
}

/** Events per XADD pipeline. */
const BATCH = 200;

/**
 * Publishes transitions on the capped Redis stream without ever holding up the probe that made
 * them: push() only appends to a bounded in-memory buffer, and one pump at a time drains it in
 * order. While Redis fails, the buffer keeps the events (retrying with backoff, and at once when
 * the connection is ready again); the transitions themselves are already in Postgres through the
 * registry (ADR 0033).
 */
export class HealthEventStream {
  private readonly buffer: ClusterHealthEvent[] = [];
  private pumping?: Promise<void>;
  private stopped = false;
  private failures = 0;
  private retryTimer?: NodeJS.Timeout;
  private readonly onReady = () => this.kick();

  constructor(
    private readonly redis: Redis,
    private readonly options: HealthEventStreamOptions,
  ) {
    redis.on('ready', this.onReady);
  }

  /** Events waiting to be published. */
  get pending(): number {
    return this.buffer.length;
  }

  push(event: ClusterHealthEvent): void {
    if (this.buffer.length >= this.options.capacity) {
      const drop = this.buffer.length - this.options.capacity + 1;
      this.buffer.splice(0, drop);
      this.options.onDropped?.(drop);
    }
    this.buffer.push(event);
    this.kick();
  }

  kick(): void {
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    void this.pump();
  }

  /** One pump at a time; a second caller waits for the running one. */
  private pump(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.pumping ??= this.pumpOnce().finally(() => (this.pumping = undefined));
    return this.pumping;
  }

  private async pumpOnce(): Promise<void> {
    try {
      while (this.buffer.length > 0 && !this.stopped) {
        const batch = this.buffer.slice(0, BATCH);
        const pipeline = this.redis.pipeline();
        for (const e of batch) pipeline.xadd(healthEventStream(this.options.prefix), 'MAXLEN', '~', String(this.options.maxLen), '*', ...Object.entries(e).flat());
        const results = (await pipeline.exec()) ?? [];
        // Keep order: drop only the published prefix; the rest goes again (with its id) on the next try.
        let published = 0;
        while (published < batch.length && results[published] && !results[published]![0]) published++;
        this.buffer.splice(0, published);
        if (published < batch.length) throw results[published]?.[0] ?? new Error('XADD got no reply');
        this.failures = 0;
      }
    } catch (error) {
      this.failures++;
      this.options.onError?.(error);
      const min = this.options.retryMinMs ?? 200;
      const delay = Math.min(this.options.retryMaxMs ?? 5_000, min * 2 ** Math.min(this.failures - 1, 10));
      if (this.stopped) return;
      this.retryTimer = setTimeout(() => this.kick(), delay);
      this.retryTimer.unref();
    }
  }

  /**
   * At shutdown, after the last transitions: publishes what waits, retrying, for at most
   * `timeoutMs`, then stops. Returns how many entries were not published: they are in the
   * registry's event list, but not on the stream (docs/operations.md, ADR 0037).
   */
  async close(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let delay = this.options.retryMinMs ?? 200;
    while (this.buffer.length > 0 && !this.stopped && Date.now() < deadline) {
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      await within(this.pump(), deadline - Date.now());
      if (this.buffer.length === 0 || Date.now() + delay >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, this.options.retryMaxMs ?? 5_000);
    }
    const left = this.buffer.length;
    this.stop();
    return left;
  }

  /** Stops retrying; what is still buffered is lost with the process (it is in Postgres: the REST events list). */
  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.redis.off('ready', this.onReady);
  }
}

/** Waits for the promise, for at most `ms` (it keeps running). */
function within(promise: Promise<void>, ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
