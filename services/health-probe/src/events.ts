import type { Redis } from 'ioredis';
import { Cluster, HealthTransition, clusterEventFromTransition } from '@flotilla/domain';
import type { RegistryPort } from './registry-port';

/** The Redis stream automation reads Ready transitions from (consumer groups, XREADGROUP). */
export const healthEventStream = (prefix: string) => `${prefix}:events:cluster-health`;

/** One Ready transition as automation sees it: names, states and reasons only, never credentials. */
export interface ClusterHealthEvent {
  cluster: string;
  clusterUid: string;
  type: 'Ready';
  from: string;
  to: string;
  reason: string;
  message: string;
  time: string;
}

export function toHealthEvent(cluster: Cluster, t: HealthTransition, at: Date): ClusterHealthEvent {
  return {
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

/**
 * Publishes each transition on a capped Redis stream (XADD MAXLEN ~ n: retention is bounded
 * whether or not anyone consumes) and stores it in the registry, where the REST API lists it.
 */
export class HealthEventPublisher {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly maxLen: number,
    private readonly store?: Pick<RegistryPort, 'recordEvent'>,
  ) {}

  async publish(cluster: Cluster, t: HealthTransition, at: Date): Promise<void> {
    const e = toHealthEvent(cluster, t, at);
    const fields = Object.entries(e).flat();
    await Promise.all([
      this.redis.xadd(healthEventStream(this.prefix), 'MAXLEN', '~', String(this.maxLen), '*', ...fields),
      this.store ? this.store.recordEvent(clusterEventFromTransition({ name: e.cluster, uid: e.clusterUid }, t, at)) : Promise.resolve(),
    ]);
  }
}
