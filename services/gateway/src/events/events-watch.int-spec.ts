import { readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { dirname } from 'node:path';
import { Client } from 'pg';
import { ClusterEventsClient, ObjectsClient, RegistryClient } from '@flotilla/clients';
import { CLUSTER_API_VERSION, ClusterEvent, FEDERATION_EVENT_RESOURCE } from '@flotilla/domain';
import { kubectl, kubectlSpawn, followOutput } from '@flotilla/kube-emulator';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, SourceProcess, eventually, httpsCall, preparePlatformEnv, startSourceProcess, writeTokenKubeconfig } from '@flotilla/testing';
import { startGateway } from '../main';

/**
 * Issue 16: events are watched (`kubectl get events -w`, `kubectl events -w`) with Kubernetes
 * semantics: a gateway on HTTPS in process, the registry as a process, real Postgres and Redis, a
 * real kubectl v1.33. Cluster events are pushed by the registry (WatchClusterEvents), federated
 * objects' events by the object change stream.
 */
type Json = Record<string, any>;
const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const LIMIT = 6;
const VERSION = /^c\d+\.o\d+$/;
let seq = 0;
/** Clusters exist only in the registry here (nobody probes them): their events are what is watched. */
const KUBECONFIG =
  'apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster:\n    server: https://203.0.113.10:6443\nusers:\n- name: u\n  user:\n    token: EVENTS-WATCH-TOKEN\ncontexts:\n- name: m\n  context: {cluster: m, user: u}\ncurrent-context: m\n';

/** An open watch: its status, and the WatchEvents received so far. */
interface OpenWatch {
  status: number;
  events(): Json[];
  text(): string;
  ended(): boolean;
  close(): void;
}

describe('watching events (core/v1 and events.k8s.io/v1) through the gateway, and with a real kubectl', () => {
  let platform: PlatformEnv;
  let registry: SourceProcess;
  let gateway: RunningService;
  let ca: string;
  let base: string;
  let kc: string;
  let store: ObjectsClient;
  let recorder: ClusterEventsClient;
  let pg: Client;
  const open: OpenWatch[] = [];

  const call = (method: string, path: string, init: { body?: unknown; accept?: string } = {}) =>
    httpsCall({ base, ca, token: platform.adminToken }, method, path, { body: init.body, accept: init.accept });
  const k = (args: string[]) => kubectl(args, { kubeconfig: kc, timeoutMs: 30_000 });

  /** Opens a watch and resolves once its answer has begun (the gateway sends headers within 250 ms). */
  function watch(path: string, accept = 'application/json'): Promise<OpenWatch> {
    return new Promise((resolve, reject) => {
      let text = '';
      let ended = false;
      const req = request(`${base}${path}`, { method: 'GET', ca, headers: { authorization: `Bearer ${platform.adminToken}`, accept } }, (res: IncomingMessage) => {
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => (ended = true));
        res.on('error', () => (ended = true));
        const w: OpenWatch = {
          status: res.statusCode!,
          text: () => text,
          events: () =>
            text
              .split('\n')
              .filter((l) => l.trim() !== '')
              .map((l) => JSON.parse(l) as Json),
          ended: () => ended,
          close: () => req.destroy(),
        };
        open.push(w);
        resolve(w);
      });
      req.on('error', (error) => (ended ? undefined : reject(error)));
      req.end();
    });
  }

  const clusterEvent = (cluster: string, reason: string, message: string): ClusterEvent => ({
    name: `${cluster}.${(Date.now() + ++seq).toString(16)}`,
    clusterName: cluster,
    clusterUid: '7a1c0000-0000-4000-8000-00000000000a',
    type: 'Warning',
    reason,
    message,
    conditionType: 'Ready',
    fromStatus: 'True',
    toStatus: 'False',
    eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    reportingComponent: 'health-probe',
  });

  const federationEvent = (name: string, namespace: string, reason: string, count = 1) => ({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace },
    involvedObject: { apiVersion: 'types.kubefed.io/v1beta1', kind: 'FederatedDeployment', namespace, name: 'web', uid: 'fd-uid' },
    reason,
    message: `${reason} on bravo`,
    type: 'Warning',
    count,
    firstTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    lastTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    source: { component: 'federation-sync' },
  });

  beforeAll(async () => {
    platform = await preparePlatformEnv({ gatewayTls: true });
    ca = readFileSync(platform.gatewayTls!.ca, 'utf8');
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    ({ running: gateway } = await startGateway({ ...platform.env('gateway'), FLOTILLA_MAX_WATCHES_PER_CALLER: String(LIMIT) }));
    base = gateway.httpUrl;
    kc = writeTokenKubeconfig({ server: base, caPem: ca, token: platform.adminToken });
    const registryGrpc = String(platform.env('gateway').REGISTRY_GRPC_URL);
    store = new ObjectsClient(registryGrpc, platform.internalToken);
    recorder = new ClusterEventsClient(registryGrpc, platform.internalToken);
    pg = new Client({ connectionString: platform.db.url });
    await pg.connect();
    const clusters = new RegistryClient(registryGrpc, platform.internalToken);
    for (const name of ['prod', 'staging', 'pruned']) {
      await clusters.createCluster({ apiVersion: CLUSTER_API_VERSION, kind: 'Cluster', metadata: { name }, spec: { connection: { type: 'direct', kubeconfig: KUBECONFIG } } });
    }
    clusters.close();
  }, 60_000);

  afterEach(() => {
    for (const w of open.splice(0)) w.close();
  });

  afterAll(async () => {
    store?.close();
    recorder?.close();
    await pg?.end();
    await gateway?.stop();
    await registry?.stop();
    await platform?.cleanup();
    if (kc) rmSync(dirname(kc), { recursive: true, force: true });
  });

  it('a watch from the list\'s resourceVersion gets the cluster and federation events recorded after it, each with a version to resume from', async () => {
    await recorder.record(clusterEvent('prod', 'Listed', 'before the list'));
    const list = await call('GET', '/api/v1/events');
    expect(list.status).toBe(200);
    expect(list.json.metadata.resourceVersion).toMatch(VERSION);
    expect(list.json.items.map((e: Json) => e.reason)).toContain('Listed');

    const w = await watch(`/api/v1/events?watch=true&resourceVersion=${list.json.metadata.resourceVersion}`);
    expect(w.status).toBe(200);
    // A cluster that does not exist (any more): its events are not in an every-cluster list, nor in its watch.
    await recorder.record(clusterEvent('removed', 'Gone', 'of a removed cluster'));
    await recorder.record(clusterEvent('prod', 'ProbeFailed', 'no answer in 5 s'));
    await eventually(() => expect(w.events()).toHaveLength(1));
    await store.create(FEDERATION_EVENT_RESOURCE, federationEvent('web.a1', 'shop', 'ApplyFailed'), 'shop');
    await eventually(() => expect(w.events().map((e) => [e.type, e.object.reason])).toEqual([
      ['ADDED', 'ProbeFailed'],
      ['ADDED', 'ApplyFailed'],
    ]));
    const [probe, apply] = w.events();
    expect(probe!.object).toMatchObject({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { namespace: 'default', resourceVersion: expect.stringMatching(VERSION) },
      involvedObject: { kind: 'Cluster', name: 'prod' },
      message: 'no answer in 5 s',
    });
    expect(apply!.object).toMatchObject({ metadata: { name: 'web.a1', namespace: 'shop', resourceVersion: expect.stringMatching(VERSION) }, involvedObject: { kind: 'FederatedDeployment' } });

    // federation-sync counts the event again: MODIFIED.
    const stored = await store.get(FEDERATION_EVENT_RESOURCE, 'web.a1', 'shop');
    await store.update(FEDERATION_EVENT_RESOURCE, { ...federationEvent('web.a1', 'shop', 'ApplyFailed', 2), metadata: { name: 'web.a1', namespace: 'shop', resourceVersion: stored.resourceVersion } }, 'shop');
    await eventually(() => expect(w.events()[2]).toMatchObject({ type: 'MODIFIED', object: { reason: 'ApplyFailed', count: 2 } }));

    // Resumed from the first event's version: the later ones only, nothing twice.
    const resumed = await watch(`/api/v1/events?watch=true&resourceVersion=${probe!.object.metadata.resourceVersion}`);
    await eventually(() => expect(resumed.events().map((e) => [e.type, e.object.reason])).toEqual([
      ['ADDED', 'ApplyFailed'],
      ['MODIFIED', 'ApplyFailed'],
    ]));
  });

  it('applies the namespace and field selectors as list does, and serves events.k8s.io/v1 and Tables', async () => {
    const v = (await call('GET', '/api/v1/events')).json.metadata.resourceVersion;
    const inDefault = await watch(`/api/v1/namespaces/default/events?watch=1&resourceVersion=${v}&fieldSelector=involvedObject.name=staging`);
    const inShop = await watch(`/api/v1/namespaces/shop/events?watch=1&resourceVersion=${v}`);
    const v1 = await watch(`/apis/events.k8s.io/v1/events?watch=true&resourceVersion=${v}&fieldSelector=regarding.kind=Cluster`);
    const table = await watch(`/api/v1/namespaces/default/events?watch=true&resourceVersion=${v}`, TABLE_ACCEPT);
    await recorder.record(clusterEvent('prod', 'NotMine', 'prod, not staging'));
    await recorder.record(clusterEvent('staging', 'Mine', 'staging'));
    await store.create(FEDERATION_EVENT_RESOURCE, federationEvent('web.b1', 'shop', 'Drifted'), 'shop');

    await eventually(() => expect(inDefault.events().map((e) => e.object.reason)).toEqual(['Mine']));
    await eventually(() => expect(inShop.events().map((e) => e.object.reason)).toEqual(['Drifted']));
    await eventually(() => expect(v1.events().map((e) => e.object.reason)).toEqual(['NotMine', 'Mine']));
    expect(v1.events()[1]!.object).toMatchObject({ apiVersion: 'events.k8s.io/v1', regarding: { kind: 'Cluster', name: 'staging' }, note: 'staging', reportingController: 'health-probe' });
    await eventually(() => expect(table.events()).toHaveLength(2));
    const [first, second] = table.events();
    expect(first).toMatchObject({ type: 'ADDED', object: { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: { resourceVersion: expect.stringMatching(VERSION) } } });
    expect(first!.object.columnDefinitions.map((c: Json) => c.name).slice(0, 5)).toEqual(['Last Seen', 'Type', 'Reason', 'Object', 'Message']);
    expect(first!.object.rows[0].cells.slice(1, 5)).toEqual(['Warning', 'NotMine', 'cluster/prod', 'prod, not staging']);
    expect(second!.object.columnDefinitions).toBeNull();
  });

  it('without a resourceVersion (or "0") starts with the current events as ADDED, as kube-apiserver does; timeoutSeconds ends it', async () => {
    const w = await watch('/api/v1/namespaces/default/events?watch=true&resourceVersion=0&timeoutSeconds=2&fieldSelector=involvedObject.name=prod');
    await eventually(() => expect(w.ended()).toBe(true), { timeoutMs: 10_000 });
    const reasons = w.events().map((e) => `${e.type} ${e.object.reason}`);
    expect(reasons).toEqual(expect.arrayContaining(['ADDED Listed', 'ADDED ProbeFailed', 'ADDED NotMine']));
    expect(w.events().every((e) => VERSION.test(e.object.metadata.resourceVersion))).toBe(true);
  });

  it('kubectl get events -w and kubectl events -w show a cluster event recorded after the watch started', async () => {
    const get = followOutput(await kubectlSpawn(['get', 'events', '-w'], { kubeconfig: kc }));
    const all = followOutput(await kubectlSpawn(['get', 'events', '-A', '-w'], { kubeconfig: kc }));
    const events = followOutput(await kubectlSpawn(['events', '-w'], { kubeconfig: kc }));
    try {
      // Each lists first (printing what exists), then watches from the list's resourceVersion:
      // an event recorded from here on is in the watch even if kubectl has not opened it yet.
      await get.waitFor(/ProbeFailed/);
      await all.waitFor(/ProbeFailed/);
      await events.waitFor(/ProbeFailed/);
      await recorder.record(clusterEvent('prod', 'WatchedByKubectl', 'recorded while kubectl watches'));
      await get.waitFor(/Warning\s+WatchedByKubectl\s+cluster\/prod\s+recorded while kubectl watches/);
      await all.waitFor(/default\s+\S+\s+Warning\s+WatchedByKubectl\s+cluster\/prod/);
      await events.waitFor(/Warning\s+WatchedByKubectl\s+\S+\s+recorded while kubectl watches/i);
    } finally {
      await get.stop();
      await all.stop();
      await events.stop();
    }
    const once = await k(['get', 'events', '--field-selector', 'reason=WatchedByKubectl']);
    expect(once.stdout).toMatch(/WatchedByKubectl/);
  });

  it('answers 410 Expired for a version older than what is kept, and 400 naming resourceVersion for one it never returned', async () => {
    const a = await recorder.record(clusterEvent('pruned', 'Old', 'old'));
    await recorder.record(clusterEvent('pruned', 'Kept', 'kept'));
    // Retention dropped everything up to the first (as the registry's age limit would).
    await pg.query('DELETE FROM cluster_events WHERE id <= $1', [a.resourceVersion]);
    const o = (await call('GET', '/api/v1/events')).json.metadata.resourceVersion.split('.o')[1];
    const gone = await call('GET', `/api/v1/events?watch=true&resourceVersion=c${BigInt(a.resourceVersion!) - 1n}.o${o}`);
    // A plain 410 Status when it fails before the stream began, else an ERROR event carrying it (as kube-apiserver's watch cache answers).
    const status = gone.status === 410 ? gone.json : (JSON.parse(gone.text.trim().split('\n').pop()!) as Json).object;
    expect(gone.status === 410 || gone.text.includes('"type":"ERROR"')).toBe(true);
    expect(status).toMatchObject({ kind: 'Status', reason: 'Expired', code: 410 });
    expect(status.message).toMatch(/too old resource version/);

    const bad = await call('GET', '/api/v1/events?watch=true&resourceVersion=12345');
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/resourceVersion/);
  });

  it('counts watches against the per-user stream limit (429 past it)', async () => {
    const v = (await call('GET', '/api/v1/events')).json.metadata.resourceVersion;
    // The earlier tests' watches give their slots back as their connections close.
    for (let i = 0; i < LIMIT; i++) {
      await eventually(async () => {
        const w = await watch(`/api/v1/events?watch=true&resourceVersion=${v}`);
        if (w.status !== 200) w.close();
        expect(w.status).toBe(200);
      });
    }
    const refused = await call('GET', `/api/v1/events?watch=true&resourceVersion=${v}`);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json.message).toMatch(/FLOTILLA_MAX_WATCHES_PER_CALLER/);
  });
});
