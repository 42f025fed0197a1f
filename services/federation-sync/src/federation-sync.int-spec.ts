import { FEDERATION_EVENT_RESOURCE, ORPHAN_RESOURCE, orphanName } from '@flotilla/domain';
import { KubeEmulator } from '@flotilla/kube-emulator';
import type { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, SourceProcess, eventually, preparePlatformEnv, startSourceProcess } from '@flotilla/testing';
import { startFederationSync } from './main';
import { FED_CM, FED_DEPLOY, FED_NS, Harness, type Json, clusterStatus } from './testing/harness';

const syncEnv = {
  FLOTILLA_FEDERATION_LEASE_HEARTBEAT_MS: '200',
  FLOTILLA_FEDERATION_LEASE_TTL_MS: '1500',
  FLOTILLA_FEDERATION_POLL_MS: '100',
  FLOTILLA_FEDERATION_ORPHAN_AFTER_SECONDS: '2',
  FLOTILLA_FEDERATION_MAX_BACKOFF_MS: '1000',
  FLOTILLA_FEDERATION_REQUEST_TIMEOUT_MS: '2000',
};
const DEPLOY = '/apis/apps/v1/namespaces/apps/deployments/web';
const within = { timeoutMs: 20_000 };

describe('federation-sync (real registry, Postgres and Redis; emulated members)', () => {
  let platform: PlatformEnv;
  let registry: SourceProcess;
  let sync: RunningService;
  let emu: KubeEmulator;
  let h: Harness;

  const start = async () => ({ running: sync } = await startFederationSync({ ...platform.env('federation-sync'), ...syncEnv }));
  const image = async (cluster: string) => ((await h.inMember(cluster, DEPLOY)) as Json | undefined)?.spec.template.spec.containers[0].image as string | undefined;
  const metric = async (name: string, labels: string): Promise<number> => {
    const text = await (await fetch(`${sync.httpUrl}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`) && l.includes(labels))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  };

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    emu = await KubeEmulator.start({ clusters: 0, workloads: { readyDelayMs: 100 } });
    h = new Harness(`127.0.0.1:${platform.ports.registryGrpc}`, platform.internalToken, emu);
    await h.member('a', { env: 'prod' });
    await h.member('b', { env: 'prod' });
    await h.member('c', { env: 'dev' });
    await h.fleetAdmin('alice');
    await start();
  }, 120_000);

  afterAll(async () => {
    await sync?.stop();
    h?.close();
    await registry?.stop();
    await emu?.stop();
    await platform?.cleanup();
  });

  it('places by label (the namespace first), applies per-cluster overrides, and reports every cluster in status', async () => {
    await h.create(FED_NS, { apiVersion: 'types.kubefed.io/v1beta1', kind: 'FederatedNamespace', metadata: { name: 'apps', namespace: 'apps' }, spec: { placement: { clusterSelector: {} } } }, 'apps');
    await h.create(
      FED_DEPLOY,
      {
        apiVersion: 'types.kubefed.io/v1beta1',
        kind: 'FederatedDeployment',
        metadata: { name: 'web', namespace: 'apps' },
        spec: {
          template: { spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] } } } },
          placement: { clusterSelector: { matchLabels: { env: 'prod' } } },
          overrides: [{ clusterName: 'b', clusterOverrides: [{ path: '/spec/template/spec/containers/0/image', value: 'nginx:1.26' }] }],
        },
      },
      'apps',
    );
    // A writer without cluster-editor anywhere places nothing.
    const mallory = JSON.stringify({ user: 'mallory', groups: [] });
    await h.create(FED_CM, { apiVersion: 'types.kubefed.io/v1beta1', kind: 'FederatedConfigMap', metadata: { name: 'cfg', namespace: 'apps', annotations: { 'federation.flotilla.io/last-writer': mallory } }, spec: { template: { data: { k: 'v' } }, placement: { clusters: [{ name: 'a' }] } } }, 'apps');

    await eventually(async () => {
      expect(await image('a')).toBe('nginx:1.25');
      expect(await image('b')).toBe('nginx:1.26');
      for (const c of ['a', 'b', 'c']) expect(await h.inMember(c, '/api/v1/namespaces/apps')).toBeDefined();
    }, within);
    expect(await h.inMember('c', DEPLOY)).toBeUndefined();
    const member = (await h.inMember('a', DEPLOY))!;
    expect(member.metadata.labels['federation.flotilla.io/managed-by']).toBe('apps.web');
    expect(member.metadata.annotations['federation.flotilla.io/federated-object']).toBe(`${FED_DEPLOY}/apps/web`);
    await eventually(async () => {
      const o = await h.get(FED_DEPLOY, 'web', 'apps');
      const status = (o.object as Json).status;
      expect(status.clusters.map((c: Json) => [c.name, c.status])).toEqual([['a', 'Applied'], ['b', 'Applied']]);
      expect(status.conditions.find((c: Json) => c.type === 'Propagation')).toMatchObject({ status: 'True' });
      expect(status.conditions.find((c: Json) => c.type === 'Ready')).toMatchObject({ status: 'True' });
      expect(status).toMatchObject({ observedGeneration: 1, replicas: 4, readyReplicas: 4 });
      const cfg = await h.get(FED_CM, 'cfg', 'apps');
      expect(clusterStatus(cfg, 'a')).toMatchObject({ status: 'Failed', reason: 'Forbidden' });
    }, within);
    expect(await h.inMember('a', '/api/v1/namespaces/apps/configmaps/cfg')).toBeUndefined();
  }, 60_000);

  it('follows relabelling: a cluster that comes to match gets it, one that stops matching loses it', async () => {
    await h.relabel('c', { env: 'prod' });
    await h.relabel('a', { env: 'dev' });
    await eventually(async () => {
      expect(await image('c')).toBe('nginx:1.25');
      expect(await h.inMember('a', DEPLOY)).toBeUndefined();
      const o = await h.get(FED_DEPLOY, 'web', 'apps');
      expect((o.object as Json).status.clusters.map((c: Json) => c.name)).toEqual(['b', 'c']);
    }, within);
  }, 60_000);

  it('repairs drift: a member object deleted directly is re-applied, and counted', async () => {
    await h.memberRequest('c', 'DELETE', DEPLOY);
    await eventually(async () => expect(await image('c')).toBe('nginx:1.25'), within);
    expect(await metric('flotilla_federation_drift_repairs_total', 'cluster="c"')).toBeGreaterThan(0);
  }, 60_000);

  it('repairs drift: a member object edited in place (our hash kept) is re-applied, and counted', async () => {
    const before = await metric('flotilla_federation_drift_repairs_total', 'cluster="b"');
    await h.memberRequest('b', 'PATCH', DEPLOY, { spec: { template: { spec: { containers: [{ name: 'web', image: 'evil:1' }] } } } }, 'application/strategic-merge-patch+json');
    await eventually(async () => expect(await image('b')).toBe('nginx:1.26'), within);
    expect(await metric('flotilla_federation_drift_repairs_total', 'cluster="b"')).toBeGreaterThan(before);
  }, 60_000);

  it('reports a NotReady member in status while the others converge, and converges it on its return', async () => {
    await emu.cluster('b').down();
    await h.setReady('b', false);
    await h.change(FED_DEPLOY, 'web', 'apps', (o) => (o.spec.template.spec.replicas = 3));
    await eventually(async () => {
      expect(((await h.inMember('c', DEPLOY)) as Json).spec.replicas).toBe(3);
      const o = await h.get(FED_DEPLOY, 'web', 'apps');
      expect(clusterStatus(o, 'b')).toMatchObject({ status: 'Pending', reason: 'ClusterNotReady' });
      expect(clusterStatus(o, 'c')).toMatchObject({ status: 'Applied', generation: 2 });
    }, within);
    await emu.cluster('b').up();
    await h.setReady('b', true);
    await eventually(async () => {
      expect(((await h.inMember('b', DEPLOY)) as Json).spec.replicas).toBe(3);
      expect(clusterStatus(await h.get(FED_DEPLOY, 'web', 'apps'), 'b')).toMatchObject({ status: 'Applied', generation: 2 });
    }, within);
  }, 60_000);

  it('after a restart, re-verifies everything without sending an apply for what is unchanged', async () => {
    await sync.stop();
    for (const c of ['b', 'c']) emu.cluster(c).recordRequests();
    await start();
    // Both members' objects are confirmed unchanged by the new process (from the members' metadata watch).
    await eventually(async () => expect(await metric('flotilla_federation_apply_total', 'result="unchanged"')).toBeGreaterThanOrEqual(2), within);
    for (const c of ['b', 'c']) {
      const writes = emu.cluster(c).requests().filter((r) => r.method !== 'GET');
      expect(writes.map((r) => `${r.method} ${r.path}`)).toEqual([]);
    }
  }, 60_000);

  it('deletes from every member; an unreachable one is reported as an orphan, then cleaned when it returns', async () => {
    await emu.cluster('c').down();
    await h.setReady('c', false);
    await h.markDeleted(FED_DEPLOY, 'web', 'apps');
    const orphan = orphanName('c', { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'apps', name: 'web' });
    await eventually(async () => {
      expect(await h.inMember('b', DEPLOY)).toBeUndefined();
      expect(await h.exists(FED_DEPLOY, 'web', 'apps')).toBe(false);
      const o = await h.get(ORPHAN_RESOURCE, orphan);
      expect((o.object as Json).spec).toMatchObject({ cluster: 'c', kind: 'Deployment', namespace: 'apps', name: 'web', federatedObject: { resource: FED_DEPLOY, namespace: 'apps', name: 'web' } });
    }, within);
    const events = (await h.store.list(FEDERATION_EVENT_RESOURCE, { namespace: 'apps' })).items.map((e) => e.object as Json);
    expect(events).toContainEqual(expect.objectContaining({ reason: 'Orphaned', type: 'Warning', involvedObject: expect.objectContaining({ kind: 'FederatedDeployment', name: 'web' }), related: { kind: 'Cluster', name: 'c' } }));
    await emu.cluster('c').up();
    await h.setReady('c', true);
    await eventually(async () => {
      expect(await h.inMember('c', DEPLOY)).toBeUndefined();
      expect(await h.exists(ORPHAN_RESOURCE, orphan)).toBe(false);
    }, within);
  }, 60_000);
});
