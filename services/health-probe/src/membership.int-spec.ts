import { Redis } from 'ioredis';
import { TEST_REDIS_URL, eventually, testQueuePrefix } from '@flotilla/testing';
import { ReplicaMembership, rendezvousOwner } from '@flotilla/service-kit';

describe('ReplicaMembership (real Redis)', () => {
  let redis: Redis;
  let queue: { prefix: string; cleanup(): Promise<void> };
  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL);
    queue = testQueuePrefix();
  });
  afterAll(async () => {
    await queue.cleanup();
    await redis.quit();
  });

  it('agrees on owners across replicas, forgets a silent one after the TTL, and a leaving one at once', async () => {
    const opts = { keyPrefix: queue.prefix, ttlMs: 600, heartbeatMs: 100 };
    const a = new ReplicaMembership(redis, { ...opts, replicaId: 'a' });
    const b = new ReplicaMembership(redis, { ...opts, replicaId: 'b' });
    const c = new ReplicaMembership(redis, { ...opts, replicaId: 'c' });
    await a.beat();
    await b.beat();
    await c.beat();
    await a.beat();
    await b.beat();
    expect(a.liveReplicas()).toEqual(['a', 'b', 'c']);
    const names = Array.from({ length: 50 }, (_, i) => `c-${i}`);
    for (const n of names) expect([a, b, c].filter((r) => r.owns(n))).toHaveLength(1);
    // c falls silent: once the TTL has passed (by Redis time) the others, still beating, drop it and share its clusters.
    await eventually(async () => {
      await b.beat();
      await a.beat();
      await b.beat();
      expect(a.liveReplicas()).toEqual(['a', 'b']);
    }, { timeoutMs: 5000 });
    for (const n of names) expect([a, b].filter((r) => r.owns(n))).toHaveLength(1);
    // b leaves gracefully: gone at the next beat of a.
    await b.stop();
    await a.beat();
    expect(a.liveReplicas()).toEqual(['a']);
    expect(names.every((n) => a.owns(n))).toBe(true);
    expect(rendezvousOwner('x', [])).toBeUndefined();
    await a.stop();
  });

  it('keeps its last share through the grace when it cannot heartbeat, then fences itself; tells its listeners again when the fence lifts (ADR 0033)', async () => {
    // The grace is timed by the replica's own clock: a fake one, so no waiting.
    let clock = 1_000_000;
    const m = new ReplicaMembership(redis, { keyPrefix: `${queue.prefix}-fence`, ttlMs: 400, heartbeatMs: 100, graceMs: 5_000, replicaId: 'solo', now: () => clock });
    const seen: number[] = [];
    m.onChange((live) => seen.push(live.length));
    await m.beat();
    expect(m.owns('x')).toBe(true);
    clock += 201; // longer than TTL/2 without a beat: ADR 0020 fenced here; now it only degrades
    expect(m.owns('x')).toBe(true);
    expect(m.degraded()).toBe(true);
    clock += 5_000 - 201; // exactly the grace: still probing
    expect(m.owns('x')).toBe(true);
    clock += 1; // past the grace: fenced
    expect(m.owns('x')).toBe(false);
    expect(m.liveReplicas()).toEqual([]);
    seen.length = 0;
    await m.beat(); // same live set as before, but the fence lifted: listeners must hear of it
    expect(m.owns('x')).toBe(true);
    expect(m.degraded()).toBe(false);
    expect(seen).toEqual([1]);
    await m.stop();
  });
});
