import { Redis } from 'ioredis';

/** One entry of `<prefix>:events:cluster-health` as published by health-probe (services/health-probe/src/events.ts). */
export interface StreamHealthEvent {
  eventId: string;
  cluster: string;
  from: string;
  to: string;
  reason: string;
  time: string;
}

/**
 * Reads the health event stream as automation does: a consumer group, XREADGROUP, XACK. When Redis
 * comes back empty the group is gone with the stream (NOGROUP): it is created again from the
 * stream's start, so nothing published after the restart is missed. Entries are deduplicated by
 * `eventId`, as the stream's contract asks (an entry may be published twice).
 */
export class HealthStreamConsumer {
  /** Every event seen, once, by eventId. */
  readonly events = new Map<string, StreamHealthEvent>();
  /** Entries read, duplicates included. */
  entries = 0;
  private stopped = false;
  private readonly redis: Redis;
  private readonly loop: Promise<void>;

  constructor(
    url: string,
    private readonly stream: string,
    private readonly group = 'faults-e2e',
  ) {
    // Commands fail instead of waiting for ever while Redis is down; the loop tries again.
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 3000, retryStrategy: () => 200 });
    this.redis.on('error', () => undefined);
    this.loop = this.run();
  }

  private async ensureGroup(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.stream, this.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    }
  }

  private async run(): Promise<void> {
    let needGroup = true;
    while (!this.stopped) {
      try {
        if (needGroup) {
          await this.ensureGroup();
          needGroup = false;
        }
        const reply = (await this.redis.xreadgroup('GROUP', this.group, 'c1', 'COUNT', 500, 'BLOCK', 1000, 'STREAMS', this.stream, '>')) as [string, [string, string[]][]][] | null;
        for (const [, entries] of reply ?? []) {
          for (const [id, fields] of entries) {
            const e = Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]])) as unknown as StreamHealthEvent;
            this.entries++;
            if (e.eventId && !this.events.has(e.eventId)) this.events.set(e.eventId, e);
            await this.redis.xack(this.stream, this.group, id);
          }
        }
      } catch (error) {
        if (String((error as Error).message).includes('NOGROUP')) needGroup = true;
        // Redis down or restarting: try again shortly (a consumer's retry, not a test's wait).
        if (!this.stopped) await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.redis.disconnect();
  }
}
