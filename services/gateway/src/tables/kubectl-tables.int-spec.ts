import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ClusterEventsClient, ObjectsClient } from '@flotilla/clients';
import { KubeEmulator, kubectl, kubectlSpawn, followOutput } from '@flotilla/kube-emulator';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, SourceProcess, eventually, httpsCall, preparePlatformEnv, startSourceProcess, writeTokenKubeconfig } from '@flotilla/testing';
import { startGateway } from '../main';

/**
 * Issue 16 (server-side Tables, kubectl describe): a real kubectl v1.33 against a running gateway
 * on HTTPS (registry and provider-import as processes, real Postgres and Redis), with two emulated
 * members imported through REST. Table shapes are compared with a real API server's (golden 092-097).
 */
type Json = Record<string, any>;
const CLUSTERS = '/apis/cluster.kubesphere.io/v1alpha1/clusters';
const KUBEFED = '/apis/types.kubefed.io/v1beta1';
const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const GOLDEN = join(__dirname, '../../../../libs/kube-emulator/test/golden');
const golden = (file: string) => JSON.parse(readFileSync(join(GOLDEN, file), 'utf8')) as Json;

describe('kubectl get/describe against Flotilla: server-side Tables and Events (real kubectl v1.33)', () => {
  let platform: PlatformEnv;
  let emu: KubeEmulator;
  let registry: SourceProcess;
  let importer: SourceProcess;
  let gateway: RunningService;
  let ca: string;
  let base: string;
  let kc: string;
  let store: ObjectsClient;
  let events: ClusterEventsClient;

  function call(method: string, path: string, init: { body?: unknown; accept?: string; type?: string } = {}) {
    return httpsCall({ base, ca, token: platform.adminToken }, method, path, { body: init.body, accept: init.accept, contentType: init.type });
  }
  const k = (args: string[]) => kubectl(args, { kubeconfig: kc, timeoutMs: 30_000 });

  beforeAll(async () => {
    emu = await KubeEmulator.start({ clusters: 0 });
    const members = [await emu.addCluster({ flavour: 'kubeadm' }), await emu.addCluster({ flavour: 'kubeadm' })];
    platform = await preparePlatformEnv({ gatewayTls: true });
    ca = readFileSync(platform.gatewayTls!.ca, 'utf8');
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    importer = await startSourceProcess('provider-import', platform.env('provider-import'), platform.ports.importHttp);
    ({ running: gateway } = await startGateway({ ...platform.env('gateway'), FLOTILLA_FEED_POLL_MS: '100' }));
    base = gateway.httpUrl;
    kc = writeTokenKubeconfig({ server: base, caPem: ca, token: platform.adminToken });
    const registryGrpc = String(platform.env('gateway').REGISTRY_GRPC_URL);
    store = new ObjectsClient(registryGrpc, platform.internalToken);
    events = new ClusterEventsClient(registryGrpc, platform.internalToken);

    for (const [i, name] of ['alpha', 'bravo'].entries()) {
      const created = await call('POST', CLUSTERS, {
        body: {
          apiVersion: 'cluster.kubesphere.io/v1alpha1',
          kind: 'Cluster',
          metadata: { name, labels: { env: 'dev' }, annotations: { 'import.flotilla.io/credentials': 'service-account' } },
          spec: { provider: 'kubeadm', connection: { type: 'direct', kubeconfig: members[i]!.kubeconfig('admin-token') } },
        },
      });
      expect(created.status).toBe(201);
    }
    for (const name of ['alpha', 'bravo']) {
      await eventually(async () => {
        const c = (await call('GET', `${CLUSTERS}/${name}`)).json;
        expect((c.status?.conditions ?? []).find((x: Json) => x.type === 'Ready')).toMatchObject({ status: 'True' });
      }, { timeoutMs: 45_000, intervalMs: 200 });
    }
  }, 150_000);

  afterAll(async () => {
    store?.close();
    events?.close();
    await gateway?.stop();
    await importer?.stop();
    await registry?.stop();
    await emu?.stop();
    await platform?.cleanup();
    if (kc) rmSync(dirname(kc), { recursive: true, force: true });
  });

  it('kubectl get clusters shows NAME READY PROVIDER CONNECTION VERSION NODES ZONES AGE with values; -o wide adds REASON', async () => {
    const r = await k(['get', 'clusters']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const [header, ...rows] = r.stdout.trim().split('\n');
    expect(header!.split(/\s+/)).toEqual(['NAME', 'READY', 'PROVIDER', 'CONNECTION', 'VERSION', 'NODES', 'ZONES', 'AGE']);
    const alpha = rows.find((l) => l.startsWith('alpha '))!.split(/\s+/);
    expect(alpha.slice(0, 4)).toEqual(['alpha', 'True', 'kubeadm', 'direct']);
    expect(alpha[4]).toMatch(/^v1\.\d+/);
    expect(alpha[5]).toMatch(/^\d+$/);
    expect(alpha[7]).toMatch(/^\d+[smhd]/);
    expect(rows.some((l) => l.startsWith('bravo '))).toBe(true);

    const wide = await k(['get', 'clusters', '-o', 'wide']);
    expect(wide.code).toBe(0);
    expect(wide.stdout.split('\n')[0]!.split(/\s+/)).toEqual(['NAME', 'READY', 'PROVIDER', 'CONNECTION', 'VERSION', 'NODES', 'ZONES', 'AGE', 'REASON']);
    const ready = (await call('GET', `${CLUSTERS}/alpha`)).json.status.conditions.find((c: Json) => c.type === 'Ready');
    expect(wide.stdout.split('\n').find((l) => l.startsWith('alpha '))!.trim().split(/\s+/).pop()).toBe(ready.reason ?? '<none>');
  });

  it('the Table has the shape of a real API server\'s (golden 092, 096, 097), with includeObject and 406', async () => {
    const list = await call('GET', `${CLUSTERS}?limit=500`, { accept: TABLE_ACCEPT });
    expect(list.status).toBe(200);
    const real = golden('092-table-ns-list.json').response.body;
    expect(Object.keys(list.json)).toEqual(Object.keys(real));
    expect(list.json).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: expect.any(String) } });
    for (const c of list.json.columnDefinitions) expect(Object.keys(c)).toEqual(Object.keys(real.columnDefinitions[0]));
    expect(list.json.columnDefinitions[0]).toEqual(real.columnDefinitions[0]);
    expect(list.json.columnDefinitions.find((c: Json) => c.name === 'Reason').priority).toBe(1);
    const row = list.json.rows.find((r: Json) => r.cells[0] === 'alpha');
    expect(Object.keys(row)).toEqual(Object.keys(real.rows[0]));
    expect(row.object).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'alpha', uid: expect.any(String) } });
    expect(row.object.spec).toBeUndefined();

    const full = await call('GET', `${CLUSTERS}/alpha?includeObject=Object`, { accept: TABLE_ACCEPT });
    expect(full.json.rows).toHaveLength(1);
    expect(full.json.rows[0].object).toMatchObject({ kind: 'Cluster', spec: { connection: { type: 'direct' } } });
    expect(JSON.stringify(full.json)).not.toContain('kubeconfig":');
    expect(full.json.metadata.resourceVersion).toBe(full.json.rows[0].object.metadata.resourceVersion);
    const none = await call('GET', `${CLUSTERS}?limit=500&includeObject=None`, { accept: TABLE_ACCEPT });
    expect(none.json.rows[0].object).toBeUndefined();
    const bad = await call('GET', `${CLUSTERS}?includeObject=Everything`, { accept: TABLE_ACCEPT });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toContain('includeObject');

    // Only a representation Flotilla does not serve: 406, exactly as kube-apiserver answers it (golden 009).
    const refused = await call('GET', CLUSTERS, { accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1' });
    expect(refused.status).toBe(406);
    expect(refused.json).toEqual(golden('009-apis-discovery-v2-only.json').response.body);
    expect((await call('GET', '/apis/iam.kubesphere.io/v1beta1/users', { accept: 'text/html' })).status).toBe(406);
    // A plain Accept after the Table type: JSON.
    expect((await call('GET', CLUSTERS, { accept: 'application/json' })).json.kind).toBe('ClusterList');
  });

  it('kubectl get clusters -w prints a row as a cluster changes; the watch carries Tables, columns in the first event only', async () => {
    const w = followOutput(await kubectlSpawn(['get', 'clusters', '-w'], { kubeconfig: kc }));
    try {
      await w.waitFor((out) => /^alpha\s+True/m.test(out) && /^bravo\s/m.test(out));
      const listed = await call('GET', `${CLUSTERS}?limit=500`);
      expect((await call('PATCH', `${CLUSTERS}/alpha`, { body: { metadata: { labels: { watched: 'yes' } } }, type: 'application/merge-patch+json' })).status).toBe(200);
      await w.waitFor((out) => (out.match(/^alpha\s+True/gm) ?? []).length >= 2);

      // The same watch over REST: every event's object is a Table (golden 096).
      const rv = listed.json.metadata.resourceVersion;
      const pending = call('GET', `${CLUSTERS}?watch=true&resourceVersion=${rv}&timeoutSeconds=3`, { accept: TABLE_ACCEPT });
      const lines = (await pending).text.trim().split('\n').map((l) => JSON.parse(l) as Json);
      expect(lines.length).toBeGreaterThanOrEqual(1);
      const real = golden('096-table-watch-cm.json').response.body.trim().split('\n').map((l: string) => JSON.parse(l) as Json);
      expect(Object.keys(lines[0]!.object)).toEqual(Object.keys(real[0].object));
      expect(lines[0]).toMatchObject({ type: 'MODIFIED', object: { kind: 'Table', rows: [{ cells: expect.arrayContaining(['alpha']), object: { kind: 'PartialObjectMetadata' } }] } });
      expect(lines[0]!.object.columnDefinitions.map((c: Json) => c.name)).toEqual(['Name', 'Ready', 'Provider', 'Connection', 'Version', 'Nodes', 'Zones', 'Age', 'Reason']);
      for (const later of lines.slice(1)) expect(later.object.columnDefinitions).toBeNull();
    } finally {
      await w.stop();
    }
  });

  it('kubectl describe cluster shows its conditions and its recent events (found through core/v1 events)', async () => {
    const alpha = (await call('GET', `${CLUSTERS}/alpha`)).json;
    await events.record({
      name: `alpha.${Date.now().toString(16)}`,
      clusterName: 'alpha',
      clusterUid: alpha.metadata.uid,
      type: 'Warning',
      reason: 'ProbeFailed',
      message: 'the API server did not answer within 5 s',
      conditionType: 'Ready',
      fromStatus: 'True',
      toStatus: 'False',
      eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      reportingComponent: 'health-probe',
    });
    const r = await k(['describe', 'cluster', 'alpha']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^Name:\s+alpha$/m);
    expect(r.stdout).toMatch(/Conditions:[\s\S]*Type:\s+Ready/);
    expect(r.stdout).toMatch(/Events:[\s\S]*Warning\s+ProbeFailed\s+\S+\s+health-probe\s+the API server did not answer within 5 s/);
    // Not bravo's events.
    const bravo = await k(['describe', 'cluster', 'bravo']);
    expect(bravo.stdout).not.toContain('ProbeFailed');

    // The same event as events.k8s.io/v1, by regarding.*.
    const v1 = await call('GET', `/apis/events.k8s.io/v1/events?fieldSelector=regarding.kind=Cluster,regarding.name=alpha`);
    expect(v1.status).toBe(200);
    expect(v1.json.items.find((e: Json) => e.reason === 'ProbeFailed')).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      metadata: { namespace: 'default' },
      regarding: { kind: 'Cluster', name: 'alpha', uid: alpha.metadata.uid },
      note: 'the API server did not answer within 5 s',
      reportingController: 'health-probe',
    });
    const table = await k(['get', '--raw', '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=alpha']);
    expect(JSON.parse(table.stdout).items.some((e: Json) => e.reason === 'ProbeFailed')).toBe(true);
    const badField = await call('GET', '/api/v1/events?fieldSelector=spec.nope=1');
    expect(badField.status).toBe(400);
  });

  it('kubectl get federateddeployments -n shop shows PROPAGATION, READY and CLUSTERS; describe finds its events', async () => {
    expect((await call('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } } })).status).toBe(201);
    const fd = {
      apiVersion: 'types.kubefed.io/v1beta1',
      kind: 'FederatedDeployment',
      metadata: { name: 'web' },
      spec: {
        template: { spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } } } },
        placement: { clusters: [{ name: 'alpha' }, { name: 'bravo' }] },
      },
    };
    expect((await call('POST', `${KUBEFED}/namespaces/shop/federateddeployments`, { body: fd })).status).toBe(201);
    // federation-sync does not run here: write the status it would report.
    const stored = await store.get('federateddeployments.types.kubefed.io', 'web', 'shop');
    await store.update(
      'federateddeployments.types.kubefed.io',
      {
        ...stored.object,
        metadata: { ...(stored.object.metadata as Json), resourceVersion: stored.resourceVersion },
        status: {
          conditions: [{ type: 'Propagation', status: 'False', reason: 'ApplyFailed', lastTransitionTime: '2026-01-01T00:00:00Z' }],
          clusters: [
            { name: 'alpha', status: 'Applied', replicas: 2, readyReplicas: 2 },
            { name: 'bravo', status: 'Failed', reason: 'ApplyFailed' },
          ],
        },
      },
      'shop',
    );
    const uid = (stored.object.metadata as Json).uid;
    await store.create(
      'events.federation.flotilla.io',
      {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: 'web.0001', namespace: 'shop' },
        involvedObject: { apiVersion: 'types.kubefed.io/v1beta1', kind: 'FederatedDeployment', namespace: 'shop', name: 'web', uid },
        reason: 'ApplyFailed',
        message: 'bravo: the member refused the Deployment',
        type: 'Warning',
        count: 1,
        firstTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        lastTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        source: { component: 'federation-sync' },
      },
      'shop',
    );

    await eventually(async () => {
      const r = await k(['get', 'federateddeployments', '-n', 'shop']);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      const [header, row] = r.stdout.trim().split('\n');
      expect(header!.split(/\s{2,}/)).toEqual(['NAME', 'PROPAGATION', 'READY', 'CLUSTERS', 'AGE']);
      expect(row!.split(/\s{2,}/).slice(0, 4)).toEqual(['web', 'False (ApplyFailed)', '1/2', 'alpha,bravo']);
    }, { timeoutMs: 10_000, intervalMs: 200 });

    const d = await k(['describe', 'federateddeployment', 'web', '-n', 'shop']);
    expect(d).toMatchObject({ code: 0, stderr: '' });
    expect(d.stdout).toMatch(/Events:[\s\S]*Warning\s+ApplyFailed\s+\S+\s+federation-sync\s+bravo: the member refused the Deployment/);

    const ns = await k(['get', 'namespaces']);
    expect(ns.stdout.split('\n')[0]!.split(/\s+/)).toEqual(['NAME', 'STATUS', 'AGE']);
    expect(ns.stdout).toMatch(/^shop\s+Active\s+\d+s/m);
    const events = await k(['get', 'events', '-A']);
    expect(events.code).toBe(0);
    expect(events.stdout).toMatch(/shop\s+\S+\s+Warning\s+ApplyFailed\s+federateddeployment\/web/);
  });
});
