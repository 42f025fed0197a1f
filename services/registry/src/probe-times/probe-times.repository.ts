import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { REDIS } from '../infrastructure/tokens';

export const PROBE_TIMES_KEY = Symbol('registry.probe-times.key');

/** The Redis hash that holds every cluster's last probe time (ADR 0021). */
export const probeTimesKey = (queuePrefix: string): string => `${queuePrefix}:registry:last-probe`;

/**
 * When each cluster was last probed: one Redis hash (field = cluster name, value = RFC 3339),
 * written in batches by the health probe through RecordProbeTimes. Not in Postgres: a probe time
 * changes every interval for every cluster, and writing it there would version and broadcast
 * every probe.
 */
@Injectable()
export class ProbeTimesRepository {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(PROBE_TIMES_KEY) private readonly key: string,
  ) {}

  async record(entries: ReadonlyMap<string, string>): Promise<void> {
    if (entries.size === 0) return;
    await this.redis.hset(this.key, Object.fromEntries(entries));
  }

  async read(names: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    if (names.length === 0) return out;
    const values = await this.redis.hmget(this.key, ...names);
    values.forEach((v, i) => {
      if (v) out.set(names[i]!, v);
    });
    return out;
  }

  async forget(...names: string[]): Promise<void> {
    if (names.length > 0) await this.redis.hdel(this.key, ...names);
  }

  async names(): Promise<string[]> {
    return this.redis.hkeys(this.key);
  }
}
