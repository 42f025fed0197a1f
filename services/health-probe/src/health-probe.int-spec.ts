import { Redis } from 'ioredis';
import { ClusterCondition, findCondition } from '@flotilla/domain';
import { ClusterHandle, KubeEmulator } from '@flotilla/kube-emulator';
import type { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, SourceProcess, TEST_REDIS_URL, eventually, preparePlatformEnv, startSourceProcess } from '@flotilla/testing';
import { TestRegistry, testRegistry } from './testing/test-registry';
import { importedMember } from './testing/imported-member';
import { healthEventStream } from './events';
import { startHealthProbe } from './main';
import { ProbeService } from './probe.service';

// Short intervals so the hysteresis runs in test time; the thresholds are the defaults.
const INTERVAL_MS = 500;
const BACKOFF_MS = 300;
const probeEnv = {
  PROBE_INTERVAL_MS: String(INTERVAL_MS),
  PROBE_RETRY_BACKOFF_MS: String(BACKOFF_MS),
  // Inventories (version, nodes, kube-system) every fourth probe or so; readiness-only probes between (ADR 0038).
  PROBE_INVENTORY_INTERVAL_MS: String(4 * INTERVAL_MS),
  PROBE_TIMEOUT_MS: '1500',
  PROBE_FAILURE_THRESHOLD: '3',
  PROBE_SUCCESS_THRESHOLD: '1',
  PROBE_LEASE_HEARTBEAT_MS: '200',
  PROBE_LEASE_TTL_MS: '1500',
  PROBE_LAST_SEEN_FLUSH_MS: '100',
};

describe('health-probe (emulated members, real registry, Postgres and Redis)', () => {
  let platform: PlatformEnv;
  let registry: SourceProcess;
  let probe: RunningService;
  let gateway: SourceProcess;
  let client: TestRegistry;
  let redis: Redis;
  let emu: KubeEmulator;

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    client = testRegistry(`127.0.0.1:${platform.ports.registryGrpc}`, platform.internalToken);
    redis = new Redis(TEST_REDIS_URL);
    emu = await KubeEmulator.start({ clusters: 0 });
    ({ running: probe } = await startHealthProbe({ ...platform.env('health-probe'), ...probeEnv }));
    gateway = await startSourceProcess('gateway', platform.env('gateway'), platform.ports.gatewayHttp);
  }, 120_000);

  afterAll(async () => {
    await probe?.stop();
    await gateway?.stop();
    client?.close();
    await registry?.stop();
    await emu?.stop();
    await redis?.quit();
    await platform?.cleanup();
  });

  /** Registers an emulated member and plays the import job's part: Initialized=True, Ready=True, uid. */
  const member = (name: string, opts: { flavour?: 'kubeadm' | 'eks' | 'ack'; uid?: string; annotations?: Record<string, string> } = {}): Promise<ClusterHandle> =>
    importedMember(emu, client, name, { ...opts, nodes: 2 });

  const get = (name: string) => client.get(name);
  const ready = async (name: string): Promise<ClusterCondition | undefined> => findCondition((await get(name)).status?.conditions, 'Ready');
  const metricIn = (text: string, name: string, labels: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  const metric = async (name: string, labels: string): Promise<number> => metricIn(await (await fetch(`${probe.httpUrl}/metrics`)).text(), name, labels);
  const eventsFor = async (name: string) => {
    const entries = await redis.xrange(healthEventStream(platform.queuePrefix), '-', '+');
    return entries
      .map(([, fields]) => {
        const o: Record<string, string> = {};
        for (let i = 0; i < fields.length; i += 2) o[fields[i]] = fields[i + 1];
        return o;
      })
      .filter((e) => e.cluster === name);
  };
  /** Ready=True as seen by a probe of this service (the facts it writes are there), not just as imported. */
  const probedReady = (name: string) =>
    eventually(async () => {
      const c = await get(name);
      expect(findCondition(c.status?.conditions, 'Ready')).toMatchObject({ status: 'True' });
      expect(c.status?.nodeCount).toBe(2);
    }, { timeoutMs: 10_000 });
  /** status.lastProbeTime as the registry serves it (and the gateway shows it). */
  const lastProbe = async (name: string) => (await get(name)).status?.lastProbeTime;

  it('writes version, node count, zones and region of a healthy member, and shows its last probe time in its status', async () => {
    await member('healthy');
    await eventually(async () => {
      const c = await get('healthy');
      expect(c.status).toMatchObject({ kubernetesVersion: expect.stringMatching(/^v1\.30\.4-eks-/), nodeCount: 2, zones: ['z-a', 'z-b'], region: 'r-1' });
      expect(findCondition(c.status?.conditions, 'Ready')).toMatchObject({ status: 'True', reason: 'ClusterReady' });
      expect(Date.now() - Date.parse((await lastProbe('healthy')) ?? '')).toBeLessThan(5000);
    }, { timeoutMs: 10_000 });
    // Probes that change nothing write nothing: the resourceVersion stays while probes go on.
    const rv = (await get('healthy')).metadata.resourceVersion;
    const before = await lastProbe('healthy');
    await eventually(async () => expect(await lastProbe('healthy')).not.toBe(before), { timeoutMs: 5000 });
    expect((await get('healthy')).metadata.resourceVersion).toBe(rv);
  });

  it('reports KubeConfigCertExpiresInSevenDays from a kubeconfig with a client certificate', async () => {
    await member('certified', { flavour: 'kubeadm' });
    await eventually(async () => {
      const c = await get('certified');
      expect(findCondition(c.status?.conditions, 'KubeConfigCertExpiresInSevenDays')).toMatchObject({ status: 'False', reason: 'CertificateValid' });
      expect(findCondition(c.status?.conditions, 'Ready')).toMatchObject({ status: 'True' });
    }, { timeoutMs: 10_000 });
  });

  it('down: Ready=False ClusterNotReachable after the threshold, an event per transition, and back on up', async () => {
    const h = await member('downer');
    await probedReady('downer');
    await h.down();
    await eventually(async () => expect(await ready('downer')).toMatchObject({ status: 'False', reason: 'ClusterNotReachable', message: expect.stringContaining('did not answer') }), { timeoutMs: 10_000 });
    expect((await get('downer')).status?.nodeCount).toBe(2); // facts of the last good probe stay
    await h.up();
    await eventually(async () => expect(await ready('downer')).toMatchObject({ status: 'True', reason: 'ClusterReady' }), { timeoutMs: 10_000 });
    const events = await eventsFor('downer');
    expect(events.map((e) => `${e.from}->${e.to}:${e.reason}`)).toEqual(['True->False:ClusterNotReachable', 'False->True:ClusterReady']);
    expect(JSON.stringify(events)).not.toMatch(/token|BEGIN|password/i);
    // Stored and listed per cluster through REST, newest first, as a core/v1 EventList.
    const res = await fetch(`http://127.0.0.1:${platform.ports.gatewayHttp}/apis/cluster.kubesphere.io/v1alpha1/clusters/downer/events`, { headers: { authorization: `Bearer ${platform.adminToken}` } });
    expect(res.status).toBe(200);
    const list = (await res.json()) as { kind: string; items: { reason: string; type: string; involvedObject: { kind: string; name: string }; metadata: { annotations: Record<string, string> } }[] };
    expect(list.kind).toBe('EventList');
    expect(list.items.map((e) => [e.type, e.reason, e.metadata.annotations['health.flotilla.io/to']])).toEqual([
      ['Normal', 'ClusterReady', 'True'],
      ['Warning', 'ClusterNotReachable', 'False'],
    ]);
    expect(list.items[0].involvedObject).toMatchObject({ kind: 'Cluster', name: 'downer' });
    expect(JSON.stringify(list)).not.toMatch(/token|BEGIN|password/i);
    const missing = await fetch(`http://127.0.0.1:${platform.ports.gatewayHttp}/apis/cluster.kubesphere.io/v1alpha1/clusters/nosuch/events`, { headers: { authorization: `Bearer ${platform.adminToken}` } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ kind: 'Status', reason: 'NotFound' });
  });

  it('hang: a hanging member times out and goes NotReachable while the others keep being probed', async () => {
    const h = await member('hanger');
    const other = await member('bystander');
    void other;
    await probedReady('hanger');
    h.hang();
    const seen = await lastProbe('bystander');
    await eventually(async () => expect(await ready('hanger')).toMatchObject({ status: 'False', reason: 'ClusterNotReachable', message: expect.stringContaining('ETIMEDOUT') }), { timeoutMs: 20_000 });
    expect(await lastProbe('bystander')).not.toBe(seen);
    expect(await ready('bystander')).toMatchObject({ status: 'True' });
    await h.up();
    await eventually(async () => expect(await ready('hanger')).toMatchObject({ status: 'True' }), { timeoutMs: 10_000 });
  });

  it('error rates: a member answering 503 on the calls a probe needs is reachable but unhealthy (seen at its next inventory); on /readyz it is NotReady', async () => {
    const h = await member('erratic');
    await probedReady('erratic');
    const remove = h.setErrorRate({ pathPrefix: '/api/v1/nodes', rate: 1, code: 503 });
    await eventually(async () => expect(await ready('erratic')).toMatchObject({ status: 'False', reason: 'ClusterUnhealthy', message: expect.stringContaining('HTTP 503 on /api/v1/nodes') }), { timeoutMs: 10_000 });
    remove();
    h.setHealth('readyz', false);
    await eventually(async () => expect(await ready('erratic')).toMatchObject({ status: 'False', reason: 'ClusterNotReady', message: expect.stringContaining('/readyz answered 500') }), { timeoutMs: 10_000 });
    h.setHealth('readyz', true);
    await eventually(async () => expect(await ready('erratic')).toMatchObject({ status: 'True' }), { timeoutMs: 10_000 });
  });

  it('revoked credentials: Ready=False Unauthorized, back to Ready when restored', async () => {
    const h = await member('revoked');
    await probedReady('revoked');
    h.revokeCredential('admin');
    await eventually(async () => expect(await ready('revoked')).toMatchObject({ status: 'False', reason: 'Unauthorized', message: expect.stringContaining('kubeconfig') }), { timeoutMs: 10_000 });
    h.restoreCredential('admin');
    await eventually(async () => expect(await ready('revoked')).toMatchObject({ status: 'True' }), { timeoutMs: 10_000 });
  });

  it('identity swap: the endpoint answers for another cluster: IdentityMismatch at once, syncs marked stopped', async () => {
    const a = await member('swapped');
    const b = await emu.addCluster({ name: 'impostor', flavour: 'eks' });
    await probedReady('swapped');
    const current = await get('swapped');
    current.spec.connection.kubeconfig = b.kubeconfig('admin');
    await client.update(current);
    await eventually(async () => {
      const c = await get('swapped');
      expect(findCondition(c.status?.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'IdentityMismatch' });
      expect(findCondition(c.status?.conditions, 'IdentityMismatch')).toMatchObject({ status: 'True', message: expect.stringContaining(b.kubeSystemUid) });
      expect(c.status?.uid).toBe(a.kubeSystemUid);
    }, { timeoutMs: 10_000 });
  });

  it('a blip shorter than the threshold never flips the cluster', async () => {
    const h = await member('blip');
    await probedReady('blip');
    const transitionAt = (await ready('blip'))?.lastTransitionTime;
    const failuresBefore = await metric('flotilla_probe_total', 'result="unreachable"');
    // Down until a probe of this member has failed, then up at once: shorter than the three
    // failures the threshold needs (first failure, +300 ms, +900 ms).
    const scheduler = probe.app.get(ProbeService).scheduler;
    await h.down();
    await eventually(() => expect(scheduler.health('blip')?.consecutiveFailures).toBeGreaterThan(0), { timeoutMs: 5000, intervalMs: 10 });
    await h.up();
    const failuresAfter = await metric('flotilla_probe_total', 'result="unreachable"');
    expect(failuresAfter).toBeGreaterThan(failuresBefore);
    const seen = await lastProbe('blip');
    await eventually(async () => expect(await lastProbe('blip')).not.toBe(seen), { timeoutMs: 5000 });
    await eventually(async () => expect(await lastProbe('blip')).not.toBe(seen), { timeoutMs: 5000 });
    expect(await ready('blip')).toMatchObject({ status: 'True', lastTransitionTime: transitionAt });
    expect(await eventsFor('blip')).toEqual([]);
  });

  it('a per-cluster interval annotation slows that cluster down', async () => {
    await member('slow', { annotations: { 'health.flotilla.io/probe-interval': '60s' } });
    await eventually(async () => expect(await lastProbe('slow')).toBeTruthy(), { timeoutMs: 10_000 });
    const first = await lastProbe('slow');
    const fast = await lastProbe('healthy');
    await eventually(async () => expect(await lastProbe('healthy')).not.toBe(fast), { timeoutMs: 5000 });
    await eventually(async () => expect(await lastProbe('healthy')).not.toBe(fast), { timeoutMs: 5000 });
    expect(await lastProbe('slow')).toBe(first);
  });

  it('publishes clusters per state, a probe latency histogram and how far behind schedule probes start', async () => {
    await eventually(async () => {
      expect(await metric('flotilla_clusters', 'state="ready"')).toBeGreaterThan(0);
      expect(await metric('flotilla_probe_duration_seconds_count', '')).toBeGreaterThan(0);
      expect(await metric('flotilla_probe_lag_seconds_count', '')).toBeGreaterThan(0);
    }, { timeoutMs: 5000 });
    // A handful of clusters on one replica: nothing waits long for a slot.
    // Both from one scrape: a probe observed between two scrapes made them differ by one.
    const text = await (await fetch(`${probe.httpUrl}/metrics`)).text();
    expect(metricIn(text, 'flotilla_probe_lag_seconds_bucket', 'le="2.5"')).toBe(metricIn(text, 'flotilla_probe_lag_seconds_count', ''));
    for (const lane of ['main', 'suspect']) {
      for (const state of ['queued', 'in_flight']) expect(text).toMatch(new RegExp(`^flotilla_probe_queue\\{lane="${lane}",state="${state}"[^}]*\\} \\d+$`, 'm'));
    }
  });
});
