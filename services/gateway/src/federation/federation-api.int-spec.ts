import { Module } from '@nestjs/common';
import express, { Express } from 'express';
import { OBJECT_STORE, ObjectStore, ObjectsClient } from '@flotilla/clients';
import { IamResource, LAST_WRITER_ANNOTATION, MemberRole, Principal } from '@flotilla/domain';
import { RunningService, ServiceKitModule, ServiceRuntime, startService } from '@flotilla/service-kit';
import { PlatformEnv, SourceProcess, eventually, preparePlatformEnv, startSourceProcess } from '@flotilla/testing';
import { setPrincipal } from '../auth/principal';
import { Authorizer } from '../authz/authorizer';
import { loadGatewayConfig } from '../config';
import { installDiscovery } from '../discovery/discovery';
import { IamMirror } from '../iam/iam-mirror';
import { IamModule } from '../iam/iam.module';
import { CHANGE_FEED, ChangeFeed } from '../resources/change-feed';
import type { ResourceKind } from '../resources/resource-kind';
import type { ResourceRoutes } from '../resources/resource-routes';
import { FEDERATION_KINDS, FEDERATION_READS, FEDERATION_ROUTES, federationProviders } from './federation.providers';
import type { FederationReads } from './federation-reads';
import { FEDERATION_FLEET, FEDERATION_ROLES } from './write-authorization';

const KUBEFED = '/apis/types.kubefed.io/v1beta1';
const NAMESPACES = '/api/v1/namespaces';
const fdeploys = (ns: string) => `${KUBEFED}/namespaces/${ns}/federateddeployments`;

/** The fleet as the ClusterMirror would hold it: three prod clusters and a dev one. */
class TestFleet {
  readonly labels = new Map<string, Record<string, string>>([
    ['c1', { env: 'prod' }],
    ['c2', { env: 'prod' }],
    ['c3', { env: 'prod' }],
    ['d1', { env: 'dev' }],
  ]);
  names = () => [...this.labels.keys()];
  labelsOf = (name: string) => this.labels.get(name);
  onLabelsChanged = () => () => undefined;
}

const ADMIN: Principal = { user: 'admin', groups: [], via: 'admin-token' };
const BOB: Principal = { user: 'bob', groups: ['team-a'], via: 'token', tokenId: 'bob-token' };

const deployment = (name: string, placement: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'types.kubefed.io/v1beta1',
  kind: 'FederatedDeployment',
  metadata: { name },
  spec: {
    template: { spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } } } },
    placement,
    ...extra,
  },
});

describe('Federation REST API (generic resource layer, namespaces, real registry and Postgres)', () => {
  let platform: PlatformEnv;
  let registry: SourceProcess;
  let gateway: RunningService;
  let store: ObjectStore;
  let authorizer: Authorizer;
  let base: string;

  async function call(method: string, path: string, init: { body?: unknown; type?: string; as?: Principal } = {}) {
    const headers: Record<string, string> = { 'x-test-as': (init.as ?? ADMIN).user };
    if (init.body !== undefined) headers['content-type'] = init.type ?? 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : undefined) as Record<string, any>, text };
  }

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    const config = {
      ...loadGatewayConfig(platform.env('gateway')),
      FLOTILLA_FEED_POLL_MS: 100,
      FLOTILLA_FEDERATION_MAX_OBJECTS_PER_NAMESPACE: 3,
      FLOTILLA_FEDERATION_MAX_TEMPLATE_BYTES: 4096,
    };
    const runtime = new ServiceRuntime('gateway', config.LOG_LEVEL);
    const objectStore = {
      provide: OBJECT_STORE,
      useFactory: () => {
        const client = new ObjectsClient(config.REGISTRY_GRPC_URL, platform.tokens.gateway);
        runtime.shutdown.onClose('objects-client', async () => client.close());
        return client;
      },
    };
    const fleet = new TestFleet();
    @Module({
      imports: [ServiceKitModule.forRoot(runtime, config), IamModule.register({ objectStore })],
      providers: [
        { provide: FEDERATION_FLEET, useValue: fleet },
        {
          provide: FEDERATION_ROLES,
          inject: [CHANGE_FEED],
          useFactory: (feed: ChangeFeed) => {
            const mirror = new IamMirror(feed);
            mirror.start();
            runtime.shutdown.onClose('iam-mirror', async () => mirror.stop());
            return new Authorizer(mirror, fleet);
          },
        },
        ...federationProviders,
      ],
    })
    class TestGatewayModule {}
    gateway = await startService({
      runtime,
      module: TestGatewayModule,
      config,
      http: { host: '127.0.0.1', port: platform.ports.gatewayHttp },
      grpc: { host: '127.0.0.1', port: platform.ports.gatewayGrpc, packages: [] },
      shutdownTimeoutMs: 10_000,
      configureHttp(app) {
        // As main.ts, with the authenticator replaced by a test header naming one of two principals.
        const http = app.getHttpAdapter().getInstance() as Express;
        http.use((req, _res, next) => {
          setPrincipal(req, req.headers['x-test-as'] === 'bob' ? BOB : ADMIN);
          next();
        });
        http.use('/apis', express.raw({ type: () => true, limit: config.MAX_BODY_BYTES }));
        http.use('/api', express.raw({ type: () => true, limit: config.MAX_BODY_BYTES }));
        installDiscovery(http, app.get<ResourceKind[]>(FEDERATION_KINDS));
        http.use(app.get<ResourceRoutes>(FEDERATION_ROUTES).router());
        http.use(app.get<FederationReads>(FEDERATION_READS).router());
      },
    });
    base = gateway.httpUrl;
    store = gateway.app.get<ObjectStore>(OBJECT_STORE);
    authorizer = gateway.app.get<Authorizer>(FEDERATION_ROLES);
    // bob: cluster-editor on c1 and c2 (not c3), cluster-viewer on c3.
    await store.create(IamResource.clusterAccessBindings, {
      apiVersion: 'iam.flotilla.io/v1alpha1', kind: 'ClusterAccessBinding', metadata: { name: 'bob-editor' },
      subjects: [{ kind: 'User', name: 'bob' }], role: MemberRole.editor, clusters: ['c1', 'c2'],
    });
    await store.create(IamResource.clusterAccessBindings, {
      apiVersion: 'iam.flotilla.io/v1alpha1', kind: 'ClusterAccessBinding', metadata: { name: 'bob-viewer' },
      subjects: [{ kind: 'User', name: 'bob' }], role: MemberRole.viewer, clusters: ['c3'],
    });
    await eventually(() => expect(authorizer.memberRole(BOB, 'c3')).toBe(MemberRole.viewer));
  });

  afterAll(async () => {
    await gateway?.stop();
    await registry?.stop();
    await platform?.cleanup();
  });

  it('serves host namespaces and creates namespaced objects only in an existing one', async () => {
    expect((await call('POST', NAMESPACES, { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } } })).status).toBe(201);
    const ns = await call('GET', `${NAMESPACES}/demo`);
    expect(ns.json).toMatchObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo', uid: expect.any(String) }, status: { phase: 'Active' } });
    expect((await call('POST', NAMESPACES, { body: { metadata: { name: 'Not_A_Label' } } })).json.details.causes[0].field).toBe('metadata.name');

    const missing = await call('POST', fdeploys('nope'), { body: deployment('web', { clusters: [{ name: 'c1' }] }) });
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'namespaces "nope" not found', details: { name: 'nope', kind: 'namespaces' } });

    const created = await call('POST', fdeploys('demo'), { body: deployment('web', { clusters: [{ name: 'c1' }] }) });
    expect(created.status).toBe(201);
    expect(created.json.metadata).toMatchObject({ name: 'web', namespace: 'demo', finalizers: ['federation.flotilla.io/cleanup'] });
    expect(JSON.parse(created.json.metadata.annotations[LAST_WRITER_ANNOTATION])).toEqual({ user: 'admin', groups: [] });
    // Every namespace's list, one namespace's, and a namespace where it is not.
    expect((await call('GET', `${KUBEFED}/federateddeployments`)).json.items.map((o: any) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['demo/web']);
    expect((await call('GET', fdeploys('demo'))).json).toMatchObject({ kind: 'FederatedDeploymentList', items: [{ metadata: { name: 'web' } }] });
    await call('POST', NAMESPACES, { body: { metadata: { name: 'other' } } });
    expect((await call('GET', fdeploys('other'))).json.items).toEqual([]);
    expect((await call('GET', `${fdeploys('other')}/web`)).status).toBe(404);

    // Deleting a namespace that still holds a federated object is refused, naming it.
    const refused = await call('DELETE', `${NAMESPACES}/demo`);
    expect(refused.status).toBe(409);
    expect(refused.json.message).toContain('federateddeployments.types.kubefed.io "web"');
    expect((await call('DELETE', `${NAMESPACES}/other`)).json).toMatchObject({ status: 'Success' });
  });

  it('refuses an invalid template or one over the size limit, naming the field', async () => {
    const wrongNamespace = await call('POST', fdeploys('demo'), {
      body: deployment('bad', { clusters: [{ name: 'c1' }] }, { template: { metadata: { namespace: 'elsewhere' }, spec: {} } }),
    });
    expect(wrongNamespace.status).toBe(422);
    expect(wrongNamespace.json.reason).toBe('Invalid');
    expect(wrongNamespace.json.details.causes.map((c: { field: string }) => c.field)).toContain('spec.template.metadata.namespace');

    const big = await call('POST', fdeploys('demo'), { body: deployment('big', {}, { template: { spec: { note: 'x'.repeat(5000) } } }) });
    expect(big.status).toBe(422);
    expect(big.json.details.causes).toEqual([expect.objectContaining({ field: 'spec.template', reason: 'FieldValueTooLong', message: expect.stringContaining('FLOTILLA_FEDERATION_MAX_TEMPLATE_BYTES') })]);
    expect((await call('GET', `${fdeploys('demo')}/big`)).status).toBe(404);
  });

  it('lets a cluster-editor write only where the placement selects clusters it edits, naming the first it does not', async () => {
    const bySelector = await call('POST', fdeploys('demo'), { as: BOB, body: deployment('api', { clusterSelector: { matchLabels: { env: 'prod' } } }) });
    expect(bySelector.status).toBe(403);
    expect(bySelector.json).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
    expect(bySelector.json.message).toContain('User "bob" cannot create resource "federateddeployments" in API group "types.kubefed.io" in the namespace "demo"');
    expect(bySelector.json.message).toContain('cluster "c3"');

    const own = await call('POST', fdeploys('demo'), { as: BOB, body: deployment('api', { clusters: [{ name: 'c1' }, { name: 'c2' }] }) });
    expect(own.status).toBe(201);
    expect(JSON.parse(own.json.metadata.annotations[LAST_WRITER_ANNOTATION])).toEqual({ user: 'bob', groups: ['team-a'] });
    // Moving it onto c3 is refused; so is changing, or deleting, an object already placed on c3.
    const widened = await call('PATCH', `${fdeploys('demo')}/api`, { as: BOB, type: 'application/merge-patch+json', body: { spec: { placement: { clusters: [{ name: 'c3' }] } } } });
    expect(widened.status).toBe(403);
    expect(widened.json.message).toContain('cluster "c3"');
    expect((await call('PUT', `${fdeploys('demo')}/web`, { as: BOB, body: { ...deployment('web', { clusters: [{ name: 'c1' }] }), metadata: { name: 'web' } } })).status).toBe(200);
    await call('PATCH', `${fdeploys('demo')}/web`, { type: 'application/merge-patch+json', body: { spec: { placement: { clusters: [{ name: 'c1' }, { name: 'c3' }] } } } });
    expect((await call('DELETE', `${fdeploys('demo')}/web`, { as: BOB })).json).toMatchObject({ reason: 'Forbidden', message: expect.stringContaining('cluster "c3"') });
  });

  it('keeps the stored status on user writes, and marks a delete with finalizers instead of deleting', async () => {
    const current = (await call('GET', `${fdeploys('demo')}/api`)).json;
    // federation-sync writes status straight to the store.
    const status = { observedGeneration: 1, clusters: [{ name: 'c1', status: 'Applied', generation: 1 }] };
    await store.update('federateddeployments.types.kubefed.io', { ...current, status }, 'demo');
    const put = await call('PUT', `${fdeploys('demo')}/api`, {
      as: BOB,
      body: { ...deployment('api', { clusters: [{ name: 'c1' }] }), metadata: { name: 'api', annotations: { [LAST_WRITER_ANNOTATION]: '{"user":"mallory"}' } }, status: { observedGeneration: 99 } },
    });
    expect(put.status).toBe(200);
    expect(put.json.status).toEqual(status);
    expect(put.json.spec.placement).toEqual({ clusters: [{ name: 'c1' }] });
    expect(JSON.parse(put.json.metadata.annotations[LAST_WRITER_ANNOTATION]).user).toBe('bob');
    expect(put.json.metadata.finalizers).toEqual(['federation.flotilla.io/cleanup']);

    const deleted = await call('DELETE', `${fdeploys('demo')}/api`, { as: BOB });
    expect(deleted.status).toBe(200);
    expect(deleted.json).toMatchObject({ kind: 'FederatedDeployment', metadata: { name: 'api', deletionTimestamp: expect.any(String), finalizers: ['federation.flotilla.io/cleanup'] } });
    expect((await call('GET', `${fdeploys('demo')}/api`)).json.metadata.deletionTimestamp).toBe(deleted.json.metadata.deletionTimestamp);
    const addFinalizer = await call('PATCH', `${fdeploys('demo')}/api`, { type: 'application/merge-patch+json', body: { metadata: { finalizers: ['federation.flotilla.io/cleanup', 'example.com/more'] } } });
    expect(addFinalizer.status).toBe(422);
    // The last finalizer removed: the object goes.
    expect((await call('PATCH', `${fdeploys('demo')}/api`, { type: 'application/merge-patch+json', body: { metadata: { finalizers: null } } })).status).toBe(200);
    expect((await call('GET', `${fdeploys('demo')}/api`)).status).toBe(404);
  });

  it('limits the federated objects of one kind per namespace, as a ResourceQuota would', async () => {
    await call('POST', NAMESPACES, { body: { metadata: { name: 'quota' } } });
    const cm = (name: string) => ({ metadata: { name }, spec: { template: { data: { a: 'b' } }, placement: { clusters: [{ name: 'c1' }] } } });
    for (const name of ['a', 'b', 'c']) expect((await call('POST', `${KUBEFED}/namespaces/quota/federatedconfigmaps`, { body: cm(name) })).status).toBe(201);
    const over = await call('POST', `${KUBEFED}/namespaces/quota/federatedconfigmaps`, { body: cm('d') });
    expect(over.status).toBe(403);
    expect(over.json.message).toContain('exceeded quota: FLOTILLA_FEDERATION_MAX_OBJECTS_PER_NAMESPACE');
    expect(over.json.message).toContain('limited: federatedconfigmaps.types.kubefed.io=3');
    // Another kind in the namespace has its own count.
    expect((await call('POST', fdeploys('quota'), { body: deployment('one', {}) })).status).toBe(201);
  });

  it('lists the events of a federated object and the orphans of a cluster as stored by federation-sync', async () => {
    const web = (await call('GET', `${fdeploys('demo')}/web`)).json;
    const event = (name: string, involved: Record<string, unknown>, at: string) => ({
      apiVersion: 'v1', kind: 'Event', metadata: { name }, involvedObject: involved, reason: 'ApplyFailed', message: 'member said no', type: 'Warning', count: 1,
      firstTimestamp: at, lastTimestamp: at, source: { component: 'federation-sync' }, related: { kind: 'Cluster', name: 'c1' },
    });
    const involved = { apiVersion: 'types.kubefed.io/v1beta1', kind: 'FederatedDeployment', namespace: 'demo', name: 'web' };
    await store.create('events.federation.flotilla.io', event('web.00000000000000b2', { ...involved, uid: web.metadata.uid }, '2025-01-01T00:00:02Z'), 'demo');
    await store.create('events.federation.flotilla.io', event('web.00000000000000a1', { ...involved, uid: web.metadata.uid }, '2025-01-01T00:00:01Z'), 'demo');
    await store.create('events.federation.flotilla.io', event('web.00000000000000c3', { ...involved, uid: 'an-older-web' }, '2025-01-01T00:00:03Z'), 'demo');
    await store.create('events.federation.flotilla.io', event('api.00000000000000d4', { ...involved, name: 'api' }, '2025-01-01T00:00:04Z'), 'demo');
    const events = await call('GET', `${fdeploys('demo')}/web/events`);
    expect(events.status).toBe(200);
    expect(events.json).toMatchObject({ apiVersion: 'v1', kind: 'EventList' });
    expect(events.json.items.map((e: any) => e.metadata.name)).toEqual(['web.00000000000000a1', 'web.00000000000000b2']);

    const orphan = (cluster: string, name: string) => ({
      apiVersion: 'federation.flotilla.io/v1alpha1', kind: 'Orphan', metadata: { name: `${cluster}.${name}`, labels: { 'federation.flotilla.io/cluster': cluster } },
      spec: { cluster, apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'demo', name: 'gone', federatedObject: { resource: 'federateddeployments.types.kubefed.io', namespace: 'demo', name: 'gone', uid: 'u' }, since: '2025-01-01T00:00:00Z' },
    });
    await store.create('orphans.federation.flotilla.io', orphan('c1', '0123456789abcdef'));
    await store.create('orphans.federation.flotilla.io', orphan('c2', '0123456789abcdef'));
    const orphans = await call('GET', '/apis/cluster.kubesphere.io/v1alpha1/clusters/c1/orphans');
    expect(orphans.json).toMatchObject({ apiVersion: 'federation.flotilla.io/v1alpha1', kind: 'OrphanList', items: [{ metadata: { name: 'c1.0123456789abcdef' }, spec: { cluster: 'c1' } }] });
    expect(orphans.json.items).toHaveLength(1);
  });

  it('answers discovery so kubectl finds the namespaced kinds', async () => {
    expect((await call('GET', '/api')).json.versions).toEqual(['v1']);
    expect((await call('GET', '/api/v1')).json.resources).toEqual([
      expect.objectContaining({ name: 'events', namespaced: true, kind: 'Event', verbs: ['get', 'list', 'watch'] }),
      expect.objectContaining({ name: 'namespaces', namespaced: false, kind: 'Namespace' }),
    ]);
    const kubefed = (await call('GET', KUBEFED)).json;
    expect(kubefed.resources).toContainEqual(expect.objectContaining({ name: 'federateddeployments', namespaced: true, kind: 'FederatedDeployment', shortNames: ['fdeploy'] }));
    expect(kubefed.resources).toContainEqual(expect.objectContaining({ name: 'federatedclusterroles', namespaced: false }));
    const groups = (await call('GET', '/apis')).json.groups.map((g: { name: string }) => g.name);
    expect(groups).toEqual(expect.arrayContaining(['types.kubefed.io', 'types.flotilla.io', 'scheduling.kubefed.io']));
  });
});
