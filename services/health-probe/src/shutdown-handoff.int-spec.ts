import { Redis } from 'ioredis';
import { CLUSTER_API_VERSION, Cluster, type ClusterEvent, findCondition } from '@flotilla/domain';
import { ClusterEventsClient } from '@flotilla/clients';
import { ClusterHandle, KubeEmulator } from '@flotilla/kube-emulator';
import { REDIS, type RunningService, type ServiceRuntime } from '@flotilla/service-kit';
import { PlatformEnv, SourceProcess, TEST_REDIS_URL, eventually, freePort, preparePlatformEnv, startSourceProcess } from '@flotilla/testing';
import { TestRegistry, testRegistry } from './testing/test-registry';
import { OwnRedis, startOwnRedis } from './testing/redis-server';
import { eventHandoffKeys, parseHandoffEntry } from './event-handoff';
import { startHealthProbe } from './main';

const CLUSTERS = 4;
const probeEnv = {
  PROBE_INTERVAL_MS: '400',
  PROBE_RETRY_BACKOFF_MS: '200',
  PROBE_TIMEOUT_MS: '1000',
  PROBE_LEASE_HEARTBEAT_MS: '200',
  PROBE_LEASE_TTL_MS: '1500',
  PROBE_LAST_SEEN_FLUSH_MS: '200',
  PROBE_SHUTDOWN_REGISTRY_MS: '1000',
  PROBE_SHUTDOWN_REDIS_MS: '2000',
};

/** A sample of a metric in Prometheus text (the one with these labels; every sample has service="health-probe"), or 0. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const line = text
    .split('\n')
    .find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** A sample of a replica's /metrics. */
async function metric(httpUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  return sample(await (await fetch(`${httpUrl}/metrics`)).text(), name, labels);
}

/**
 * Issue 13 / ADR 0037: a replica stopped (SIGTERM) while the registry is down hands the Ready
 * transitions it still buffers to Redis, and the next replica records every one of them in
 * Postgres, once each. Real registry (stopped and started again), Postgres, Redis and replicas
 * as their own processes.
 */
describe('health-probe hands off unrecorded transitions at shutdown (registry down)', () => {
  let platform: PlatformEnv;
  let registry: SourceProcess | undefined;
  let client: TestRegistry;
  let events: ClusterEventsClient;
  let emu: KubeEmulator;
  let redis: Redis;
  const replicas: SourceProcess[] = [];
  const handles = new Map<string, ClusterHandle>();

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    client = testRegistry(`127.0.0.1:${platform.ports.registryGrpc}`, platform.internalToken);
    events = new ClusterEventsClient(`127.0.0.1:${platform.ports.registryGrpc}`, platform.internalToken);
    redis = new Redis(TEST_REDIS_URL);
    emu = await KubeEmulator.start({ clusters: 0 });
    for (let i = 0; i < CLUSTERS; i++) {
      const name = `ho-${i}`;
      const h = await emu.addCluster({ name, flavour: 'kubeadm', nodes: [{ name: `${name}-n1`, zone: 'z-a', region: 'r-1' }] });
      handles.set(name, h);
      const c: Cluster = { apiVersion: CLUSTER_API_VERSION, kind: 'Cluster', metadata: { name }, spec: { provider: 'generic', connection: { type: 'direct', kubeconfig: h.kubeconfig('admin') } } };
      await client.create(c);
      await client.writeStatus(name, {
        uid: h.kubeSystemUid,
        conditions: [
          { type: 'Initialized', status: 'True', reason: 'Imported', message: 'imported' },
          { type: 'Ready', status: 'True', reason: 'ClusterReady', message: 'imported' },
        ],
      });
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    client?.close();
    events?.close();
    await registry?.stop();
    await emu?.stop();
    await redis?.quit();
    await platform?.cleanup();
  });

  async function startReplica(id: string): Promise<{ proc: SourceProcess; url: string }> {
    const http = await freePort();
    const grpc = await freePort();
    const env = { ...platform.env('health-probe'), ...probeEnv, HTTP_PORT: String(http), GRPC_PORT: String(grpc), PROBE_REPLICA_ID: id };
    const proc = await startSourceProcess('health-probe', env, http);
    replicas.push(proc);
    return { proc, url: `http://127.0.0.1:${http}` };
  }

  it('a replica stopped during a registry outage hands its transitions to the next one, which stores each once', async () => {
    const names = [...handles.keys()];
    const keys = eventHandoffKeys(platform.queuePrefix);
    const a = await startReplica('replica-a');
    // A probes (and so holds) every cluster: the node count is its write.
    await eventually(async () => {
      for (const n of names) expect((await client.get(n)).status?.nodeCount).toBe(1);
    }, { timeoutMs: 20_000 });

    // The registry goes away; every member goes down, then up again: two transitions each, which
    // A can only keep.
    await registry!.stop();
    registry = undefined;
    for (const h of handles.values()) await h.down();
    await eventually(async () => expect(await metric(a.url, 'flotilla_cluster_events_pending')).toBe(CLUSTERS), { timeoutMs: 20_000 });
    for (const h of handles.values()) await h.up();
    await eventually(async () => expect(await metric(a.url, 'flotilla_cluster_events_pending')).toBe(2 * CLUSTERS), { timeoutMs: 20_000 });

    // SIGTERM (a rolling update) while the registry is still down.
    await a.proc.stop();
    expect(a.proc.output()).toContain('handed off through Redis');
    const handed = (await redis.lrange(keys.list, 0, -1)).map((raw) => parseHandoffEntry(raw));
    expect(handed).toHaveLength(2 * CLUSTERS);
    expect(handed.every((e): e is ClusterEvent => e !== undefined)).toBe(true);
    const expected = new Map(names.map((n) => [n, handed.filter((e) => e!.clusterName === n).map((e) => e!.name).sort()]));
    for (const n of names) {
      expect(handed.filter((e) => e!.clusterName === n).map((e) => e!.toStatus)).toEqual(['False', 'True']);
    }
    expect(await redis.exists(keys.processing('replica-a'))).toBe(0);

    // The registry returns; B starts later and records every one of them, once.
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    const b = await startReplica('replica-b');
    await eventually(async () => {
      for (const n of names) {
        const stored = (await events.list(n)).map((e) => e.name);
        expect(stored.slice().sort()).toEqual(expected.get(n));
      }
      expect(await redis.llen(keys.list)).toBe(0);
      expect(await redis.exists(keys.processing('replica-b'))).toBe(0);
    }, { timeoutMs: 30_000 });
    expect(await metric(b.url, 'flotilla_cluster_events_drained_total')).toBe(2 * CLUSTERS);
    // The status A could not write is true all the same: the members are up.
    for (const n of names) expect(findCondition((await client.get(n)).status?.conditions, 'Ready')).toMatchObject({ status: 'True' });
  }, 150_000);
});

/** With Redis down as well at shutdown, the replica tries within its bound, then counts and logs the loss. */
describe('health-probe stopped with neither the registry nor Redis answering', () => {
  let platform: PlatformEnv;
  let registry: SourceProcess | undefined;
  let client: TestRegistry;
  let emu: KubeEmulator;
  let own: OwnRedis;
  let probe: RunningService | undefined;
  let runtime: ServiceRuntime;
  let probeRedis: Redis | undefined;

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    own = await startOwnRedis(await freePort());
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    client = testRegistry(`127.0.0.1:${platform.ports.registryGrpc}`, platform.internalToken);
    emu = await KubeEmulator.start({ clusters: 0 });
  }, 120_000);

  afterAll(async () => {
    await probe?.stop();
    // Its QUIT could not reach the dead Redis, so the connection would reconnect for ever (a real
    // process exits after its shutdown; this one is the test's).
    probeRedis?.disconnect();
    client?.close();
    await registry?.stop();
    await emu?.stop();
    await own?.kill();
    await platform?.cleanup();
  });

  it('counts the transitions it could not hand off in flotilla_cluster_events_unrecorded_total{why="shutdown"}', async () => {
    const h = await emu.addCluster({ name: 'lost-0', flavour: 'kubeadm', nodes: [{ name: 'lost-0-n1', zone: 'z-a', region: 'r-1' }] });
    await client.create({ apiVersion: CLUSTER_API_VERSION, kind: 'Cluster', metadata: { name: 'lost-0' }, spec: { provider: 'generic', connection: { type: 'direct', kubeconfig: h.kubeconfig('admin') } } });
    await client.writeStatus('lost-0', { uid: h.kubeSystemUid, conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True', reason: 'ClusterReady' }] });
    ({ running: probe, runtime } = await startHealthProbe({ ...platform.env('health-probe'), ...probeEnv, REDIS_URL: own.url }));
    probeRedis = probe.app.get<Redis>(REDIS);
    await eventually(async () => expect((await client.get('lost-0')).status?.nodeCount).toBe(1), { timeoutMs: 20_000 });

    await registry!.stop();
    registry = undefined;
    await own.kill();
    await h.down();
    await eventually(async () => expect(await metric(probe!.httpUrl, 'flotilla_cluster_events_pending')).toBe(1), { timeoutMs: 20_000 });

    const started = Date.now();
    await probe.stop();
    probe = undefined;
    // Bounded: the registry's last attempt, then Redis's (1 s + 2 s here), and a little for the rest.
    expect(Date.now() - started).toBeLessThan(8_000);
    const text = await runtime.metrics.registry.metrics();
    expect(sample(text, 'flotilla_cluster_events_unrecorded_total', { why: 'shutdown' })).toBe(1);
    expect(sample(text, 'flotilla_cluster_events_handed_off_total')).toBe(0);
    // The stream's entry is lost too (it is not in the registry either: the registry was down).
    expect(sample(text, 'flotilla_health_events_dropped_total')).toBe(1);
  }, 120_000);
});
