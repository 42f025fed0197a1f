import { CLUSTER_API_VERSION, Cluster, findCondition } from '@flotilla/domain';
import { ClusterHandle, KubeEmulator } from '@flotilla/kube-emulator';
import { PlatformEnv, SourceProcess, eventually, freePort, preparePlatformEnv, startSourceProcess } from '@flotilla/testing';
import { TestRegistry, testRegistry } from './testing/test-registry';
import { rendezvousOwner } from '@flotilla/service-kit';

const INTERVAL_MS = 2000;
const CLUSTERS = 12;

interface Replica {
  id: string;
  http: number;
  proc: SourceProcess;
}

/** A health-probe replica as its own process, so it can be SIGKILLed like a crashed pod. */
async function startReplica(env: NodeJS.ProcessEnv, id: string): Promise<Replica> {
  const http = await freePort();
  const grpc = await freePort();
  return { id, http, proc: await startSourceProcess('health-probe', { ...env, HTTP_PORT: String(http), GRPC_PORT: String(grpc), PROBE_REPLICA_ID: id }, http) };
}

async function clustersProbedBy(r: Replica): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${r.http}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('flotilla_clusters{'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

describe('health-probe replicas share the fleet (real processes, registry, Postgres, Redis)', () => {
  let platform: PlatformEnv;
  let registry: SourceProcess;
  let client: TestRegistry;
  let emu: KubeEmulator;
  const replicas: Replica[] = [];
  const handles = new Map<string, ClusterHandle>();

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    client = testRegistry(`127.0.0.1:${platform.ports.registryGrpc}`, platform.internalToken);
    emu = await KubeEmulator.start({ clusters: 0 });
    for (let i = 0; i < CLUSTERS; i++) {
      const name = `m-${i}`;
      const h = await emu.addCluster({ name, flavour: 'ack' });
      handles.set(name, h);
      const c: Cluster = { apiVersion: CLUSTER_API_VERSION, kind: 'Cluster', metadata: { name }, spec: { connection: { type: 'direct', kubeconfig: h.kubeconfig('admin') } } };
      await client.create(c);
      await client.writeStatus(name, { uid: h.kubeSystemUid, conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True', reason: 'ClusterReady' }] });
    }
    const env = {
      ...platform.env('health-probe'),
      PROBE_INTERVAL_MS: String(INTERVAL_MS),
      PROBE_RETRY_BACKOFF_MS: '200',
      PROBE_TIMEOUT_MS: '500',
      PROBE_LEASE_HEARTBEAT_MS: '250',
      PROBE_LEASE_TTL_MS: '1500',
      PROBE_LAST_SEEN_FLUSH_MS: '100',
    };
    replicas.push(await startReplica(env, 'replica-a'), await startReplica(env, 'replica-b'));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.proc.stop()));
    client?.close();
    await registry?.stop();
    await emu?.stop();
    await platform?.cleanup();
  });

  const lastProbe = async (name: string) => Date.parse((await client.get(name)).status?.lastProbeTime ?? '0') || 0;

  it('probes each cluster by exactly one replica, and takes a killed replica\'s clusters over within two intervals', async () => {
    const names = [...handles.keys()];
    const ids = replicas.map((r) => r.id);
    const expectedShare = ids.map((id) => names.filter((n) => rendezvousOwner(n, ids) === id).length);
    expect(expectedShare.every((n) => n > 0)).toBe(true);
    await eventually(async () => {
      const counts = await Promise.all(replicas.map(clustersProbedBy));
      expect(counts).toEqual(expectedShare);
      for (const n of names) expect(await lastProbe(n)).toBeGreaterThan(0);
    }, { timeoutMs: 15_000 });

    const [victim, survivor] = replicas;
    const orphaned = names.filter((n) => rendezvousOwner(n, ids) === victim.id);
    victim.proc.kill();
    const killedAt = Date.now();
    // Taken over: every orphaned cluster probed again after the kill, by the survivor.
    await eventually(async () => {
      for (const n of orphaned) expect(await lastProbe(n)).toBeGreaterThan(killedAt);
      expect(await clustersProbedBy(survivor)).toBe(CLUSTERS);
    }, { timeoutMs: 2 * INTERVAL_MS + 1000, intervalMs: 100 });
    const takeoverMs = Math.max(...(await Promise.all(orphaned.map(lastProbe)))) - killedAt;
    expect(takeoverMs).toBeLessThanOrEqual(2 * INTERVAL_MS + 200);

    // And the survivor keeps them true: one of them going down is seen.
    await handles.get(orphaned[0])!.down();
    await eventually(async () => {
      const c = await client.get(orphaned[0]);
      expect(findCondition(c.status?.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'ClusterNotReachable' });
    }, { timeoutMs: 15_000 });
  }, 60_000);
});
