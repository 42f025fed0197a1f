import { Redis } from 'ioredis';
import { type ClusterEvent, ErrorReason, FlotillaError } from '@flotilla/domain';
import { ReplicaMembership, createRedis } from '@flotilla/service-kit';
import { TEST_REDIS_URL, eventually, freePort, testQueuePrefix } from '@flotilla/testing';
import { EventHandoff, HandoffTarget, eventHandoffKeys, handoffEntry } from './event-handoff';
import { RegistryEventBuffer } from './registry-events';
import { OwnRedis, startOwnRedis } from './testing/redis-server';

const event = (cluster: string, ms: number): ClusterEvent => ({
  name: `${cluster}.${ms.toString(16)}`,
  clusterName: cluster,
  clusterUid: `uid-${cluster}`,
  type: 'Warning',
  reason: 'ClusterNotReachable',
  message: 'connect ECONNREFUSED',
  conditionType: 'Ready',
  fromStatus: 'True',
  toStatus: 'False',
  eventTime: new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  reportingComponent: 'health-probe',
});

/** A target that keeps what it is given (a replica whose registry never answers). */
function holder(room = 1000): HandoffTarget & { adopted: { event: ClusterEvent; raw: string }[] } {
  const adopted: { event: ClusterEvent; raw: string }[] = [];
  return {
    adopted,
    get room() {
      return room - adopted.length;
    },
    adopt: (e, raw) => void adopted.push({ event: e, raw }),
  };
}

const TTL_MS = 1_500;

/** ADR 0037: the Redis handoff of Ready transitions a stopping replica could not store (real Redis). */
describe('EventHandoff (real Redis)', () => {
  let queue: ReturnType<typeof testQueuePrefix>;
  let redis: Redis;
  let keys: ReturnType<typeof eventHandoffKeys>;
  const memberships: ReplicaMembership[] = [];

  beforeEach(() => {
    queue = testQueuePrefix();
    keys = eventHandoffKeys(queue.prefix);
    redis = createRedis(TEST_REDIS_URL, 'event-handoff-spec');
  });
  afterEach(async () => {
    for (const m of memberships.splice(0)) await m.stop();
    redis.disconnect();
    await queue.cleanup();
  });

  async function replica(id: string, connection = redis): Promise<ReplicaMembership> {
    const m = new ReplicaMembership(connection, { keyPrefix: queue.prefix, ttlMs: TTL_MS, heartbeatMs: 100, replicaId: id });
    await m.start();
    memberships.push(m);
    return m;
  }
  const handoff = (replicaId: string, target: HandoffTarget, onRecovered?: (n: number) => void, connection = redis) =>
    new EventHandoff(connection, { prefix: queue.prefix, replicaId, ttlMs: TTL_MS, target, onRecovered });

  it('puts back what a crashed drainer held once it has left the membership set, never while it is alive; an entry leaves Redis only when acknowledged', async () => {
    const events = [event('a', 1_000), event('b', 2_000), event('c', 3_000)];
    await redis.rpush(keys.list, ...events.map(handoffEntry));

    // A drainer takes them all, then "crashes": its connection is cut, so its heartbeats stop
    // without leaving the set.
    const doomedRedis = createRedis(TEST_REDIS_URL, 'event-handoff-spec-doomed');
    await replica('doomed', doomedRedis);
    const doomedTarget = holder();
    await handoff('doomed', doomedTarget, undefined, doomedRedis).drain();
    expect(doomedTarget.adopted.map((a) => a.event)).toEqual(events);
    expect(await redis.llen(keys.list)).toBe(0);
    expect(await redis.lrange(keys.processing('doomed'), 0, -1)).toEqual(events.map(handoffEntry));
    doomedRedis.disconnect();

    const recovered: number[] = [];
    await replica('live');
    const liveTarget = holder();
    const live = handoff('live', liveTarget, (n) => recovered.push(n));
    // While the doomed drainer's last heartbeat is within the TTL it may still store them: untouched.
    await live.drain();
    expect(liveTarget.adopted).toHaveLength(0);
    expect(await redis.llen(keys.processing('doomed'))).toBe(3);

    // Past the TTL it is dead: its entries go back on the list and the live drainer takes them, in order.
    await eventually(async () => {
      await live.drain();
      expect(liveTarget.adopted.map((a) => a.event)).toEqual(events);
    }, { timeoutMs: 5_000 });
    expect(recovered).toEqual([3]);
    expect(await redis.exists(keys.processing('doomed'))).toBe(0);
    expect(await redis.smembers(keys.drainers)).toEqual(['live']);
    expect(await redis.llen(keys.processing('live'))).toBe(3);

    // Stored in the registry: acknowledged one by one, gone from Redis.
    for (const a of liveTarget.adopted) await live.ack(a.raw);
    expect(await redis.llen(keys.processing('live'))).toBe(0);
    expect(await redis.llen(keys.list)).toBe(0);
  });

  it('takes back, on its first drain, what an earlier process with the same replica id held', async () => {
    await replica('fixed-id');
    const earlier = [event('e1', 1_000), event('e2', 2_000)];
    await redis.rpush(keys.processing('fixed-id'), ...earlier.map(handoffEntry));
    const target = holder();
    await handoff('fixed-id', target).drain();
    expect(target.adopted.map((a) => a.event)).toEqual(earlier);
    expect(await redis.lrange(keys.processing('fixed-id'), 0, -1)).toEqual(earlier.map(handoffEntry));
  });

  it('at shutdown hands off its own events and every taken one not yet stored, in one step', async () => {
    await replica('r1');
    await redis.rpush(keys.list, handoffEntry(event('old', 500)), handoffEntry(event('stored', 600)));
    const target = holder();
    const h = handoff('r1', target);
    await h.drain();
    expect(target.adopted).toHaveLength(2);
    await h.ack(target.adopted[1]!.raw); // the registry stored this one
    const own = [event('x', 1_000), event('y', 2_000)];
    expect(await h.handOff(own, 1_000)).toEqual({ handedOff: 3, lost: 0 });
    expect(await redis.lrange(keys.list, 0, -1)).toEqual([event('old', 500), ...own].map(handoffEntry));
    expect(await redis.exists(keys.processing('r1'))).toBe(0);
    expect(await redis.smembers(keys.drainers)).toEqual([]);
    // Closed: no more drains.
    await h.drain();
    expect(target.adopted).toHaveLength(2);
  });

  it('is drained by a replica whose registry calls succeed again after failures (no timer involved)', async () => {
    const handed = [event('h1', 1_000), event('h2', 2_000)];
    await redis.rpush(keys.list, ...handed.map(handoffEntry));
    await replica('r2');
    const stored: string[] = [];
    let registryUp = false;
    let h: EventHandoff | undefined = undefined;
    const buffer = new RegistryEventBuffer({
      capacity: 100,
      retryMinMs: 5,
      retryMaxMs: 20,
      send: async (e) => {
        if (!registryUp) throw new FlotillaError(ErrorReason.ServiceUnavailable, 'the registry service is unavailable; retry shortly');
        if (!stored.includes(e.name)) stored.push(e.name);
      },
      onStored: (raw) => void h!.ack(raw),
      onRecovered: () => void h!.drain(),
    });
    h = handoff('r2', buffer);
    // This replica's own transition waits for the registry.
    await buffer.record(event('own', 3_000));
    expect(buffer.unavailable).toBe(true);
    registryUp = true;
    await eventually(async () => {
      expect(stored.sort()).toEqual(['h1.3e8', 'h2.7d0', 'own.bb8']);
      expect(await redis.llen(keys.list)).toBe(0);
      expect(await redis.llen(keys.processing('r2'))).toBe(0);
    });
  });

  describe('with Redis down at shutdown', () => {
    let own: OwnRedis;
    let cut: Redis;
    beforeAll(async () => {
      own = await startOwnRedis(await freePort());
    });
    afterAll(async () => {
      await own?.kill();
    });

    it('tries within its bound, then reports every own event lost', async () => {
      cut = createRedis(own.url, 'event-handoff-spec-down');
      try {
        await cut.ping();
        await own.kill();
        const h = new EventHandoff(cut, { prefix: queue.prefix, replicaId: 'r3', ttlMs: TTL_MS, target: holder() });
        const started = Date.now();
        expect(await h.handOff([event('l1', 1_000), event('l2', 2_000)], 1_500)).toEqual({ handedOff: 0, lost: 2 });
        expect(Date.now() - started).toBeLessThan(2_500);
      } finally {
        cut.disconnect();
        await own.start();
      }
    });
  });
});
