import { Redis } from 'ioredis';
import { findCondition } from '@flotilla/domain';
import { ClusterEventsClient } from '@flotilla/clients';
import { ClusterHandle, KubeEmulator } from '@flotilla/kube-emulator';
import type { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, SourceProcess, eventually, freePort, preparePlatformEnv, startSourceProcess } from '@flotilla/testing';
import { TestRegistry, testRegistry } from './testing/test-registry';
import { importedMember } from './testing/imported-member';
import { OwnRedis, startOwnRedis } from './testing/redis-server';
import { healthEventStream } from './events';
import { startHealthProbe } from './main';

/**
 * Issue 13: a Redis outage must not stall health. health-probe runs on a redis-server of this
 * test's own, killed and started again empty; the registry (and its Postgres) stay up.
 */
describe('health-probe while its Redis is down (real redis-server killed and restarted)', () => {
  let platform: PlatformEnv;
  let registry: SourceProcess;
  let probe: RunningService;
  let client: TestRegistry;
  let events: ClusterEventsClient;
  let emu: KubeEmulator;
  let own: OwnRedis;

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    own = await startOwnRedis(await freePort());
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    client = testRegistry(`127.0.0.1:${platform.ports.registryGrpc}`, platform.internalToken);
    events = new ClusterEventsClient(`127.0.0.1:${platform.ports.registryGrpc}`, platform.internalToken);
    emu = await KubeEmulator.start({ clusters: 0 });
    ({ running: probe } = await startHealthProbe({
      ...platform.env('health-probe'),
      REDIS_URL: own.url,
      PROBE_INTERVAL_MS: '400',
      PROBE_RETRY_BACKOFF_MS: '200',
      PROBE_TIMEOUT_MS: '1000',
      PROBE_LEASE_HEARTBEAT_MS: '200',
      // ADR 0020 fenced a replica after TTL/2 (750 ms) without a heartbeat: probing stopped fleet-wide.
      PROBE_LEASE_TTL_MS: '1500',
      // One registry call at a time: a transition stuck on Redis inside the limiter blocked every status write.
      PROBE_REGISTRY_CONCURRENCY: '1',
      PROBE_LAST_SEEN_FLUSH_MS: '200',
    }));
  }, 120_000);

  afterAll(async () => {
    await probe?.stop();
    client?.close();
    events?.close();
    await registry?.stop();
    await emu?.stop();
    await own?.kill();
    await platform?.cleanup();
  });

  const member = (name: string): Promise<ClusterHandle> => importedMember(emu, client, name, { flavour: 'kubeadm' });
  const ready = async (name: string) => findCondition((await client.get(name)).status?.conditions, 'Ready');
  const membershipState = async () => {
    const text = await (await fetch(`${probe.httpUrl}/metrics`)).text();
    return Number(text.split('\n').find((l) => l.startsWith('flotilla_probe_membership_state{'))?.split(' ').pop());
  };

  it('writes transitions to Postgres while Redis is down, keeps probing its share, and publishes the events (with ids) when Redis returns', async () => {
    const names = ['out-a', 'out-b', 'out-c'];
    const handles = await Promise.all(names.map((n) => member(n)));
    // Probed by this replica (the node count is its write), so it holds the share.
    await eventually(async () => {
      for (const n of names) expect((await client.get(n)).status?.nodeCount).toBe(1);
    }, { timeoutMs: 15_000 });
    expect(await membershipState()).toBe(0);

    await own.kill();
    await Promise.all(handles.map((h) => h.down()));
    // Every transition reaches the registry (Postgres), one registry slot or not.
    await eventually(async () => {
      for (const n of names) expect(await ready(n)).toMatchObject({ status: 'False', reason: 'ClusterNotReachable' });
    }, { timeoutMs: 20_000 });
    expect(await membershipState()).toBe(1); // degraded: probing the last share, within the grace
    const stored = await Promise.all(names.map(async (n) => (await events.list(n)).filter((e) => e.toStatus === 'False')));
    for (const s of stored) expect(s).toHaveLength(1);

    // Back up, and up again through Redis's return: Ready=True is written as well.
    await handles[0]!.up();
    await eventually(async () => expect(await ready('out-a')).toMatchObject({ status: 'True' }), { timeoutMs: 15_000 });

    await own.start(); // empty, as after a restart without persistence
    const redis = new Redis(own.url);
    try {
      const published = await eventually(async () => {
        const entries = await redis.xrange(healthEventStream(platform.queuePrefix), '-', '+');
        const fields = entries.map(([, f]) => Object.fromEntries(Array.from({ length: f.length / 2 }, (_, i) => [f[2 * i], f[2 * i + 1]])));
        expect(fields.filter((e) => e.to === 'False')).toHaveLength(3);
        expect(fields.filter((e) => e.to === 'True' && e.cluster === 'out-a')).toHaveLength(1);
        return fields;
      }, { timeoutMs: 15_000 });
      // Each carries the id of its event in the registry: consumers deduplicate by it.
      for (const [i, n] of names.entries()) {
        expect(published.find((e) => e.cluster === n && e.to === 'False')?.eventId).toBe(stored[i]![0]!.name);
      }
      await eventually(async () => expect(await membershipState()).toBe(0), { timeoutMs: 5_000 });
    } finally {
      redis.disconnect();
    }
  });
});
