import { Module } from '@nestjs/common';
import express, { Express } from 'express';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { AUDIT_STORE, AuditClient, OBJECT_STORE, ObjectsClient, REGISTRY_CLIENT, RegistryClient } from '@flotilla/clients';
import { CLUSTER_API_VERSION, IamResource, TOKEN_HASH_ANNOTATION, tokenHash, tokenNameOf, type Principal } from '@flotilla/domain';
import { RunningService, ServiceKitModule, ServiceRuntime, startService } from '@flotilla/service-kit';
import { PlatformEnv, SourceProcess, eventually, makeDevPki, preparePlatformEnv, startSourceProcess } from '@flotilla/testing';
import { setPrincipal } from '../auth/principal';
import { AuditController } from '../audit/audit.controller';
import { AuditQueryService } from '../audit/audit-query.service';
import { AUDIT_RECORDER, AuditRecorder } from '../audit/audit-recorder';
import { auditRecorderProvider } from '../audit/audit.providers';
import { KubeconfigsController } from './kubeconfigs.controller';
import { gatewayCaProvider } from './kubeconfigs.providers';
import { KubeconfigsService } from './kubeconfigs.service';
import { loadGatewayHttps } from './tls-config';

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: m
  cluster: {server: "https://203.0.113.10:6443"}
users:
- name: admin
  user: {token: "MEMBER-SECRET"}
contexts:
- name: m
  context: {cluster: m, user: admin}
current-context: m
`;

/** Stands in for the authenticator (auth/, tested on its own): `Bearer as-<who>` is that principal. */
const PRINCIPALS: Record<string, Principal> = {
  'as-alice': { user: 'alice', groups: ['dev'], tokenId: undefined, via: 'token' },
  'as-admin': { user: 'admin', groups: [], via: 'admin-token' },
};

describe('kubeconfigs and audit over HTTPS (real registry)', () => {
  let platform: PlatformEnv;
  let registry: SourceProcess;
  let gateway: RunningService;
  let pki: string;
  let ca: string;
  let objects: ObjectsClient;

  function call(method: string, path: string, options: { as?: string; body?: string; type?: string } = {}) {
    return new Promise<{ status: number; text: string; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = request(`${gateway.httpUrl}${path}`, { method, ca, headers: { ...(options.as ? { authorization: `Bearer ${options.as}` } : {}), ...(options.type ? { 'content-type': options.type } : {}) } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text, headers: res.headers }));
      });
      req.on('error', reject);
      req.end(options.body);
    });
  }

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    pki = mkdtempSync(join(tmpdir(), 'flotilla-gw-tls-'));
    makeDevPki(pki, ['gateway']);
    ca = readFileSync(join(pki, 'ca.crt'), 'utf8');
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    const registryUrl = `127.0.0.1:${platform.ports.registryGrpc}`;
    const config = {
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: 10_000,
      FLOTILLA_INTERNAL_CALLERS: platform.callers,
      FLOTILLA_INTERNAL_TOKEN: platform.tokens.gateway,
      FLOTILLA_AUDIT_LEVEL: 'All' as const,
      FLOTILLA_AUDIT_BUFFER: 1000,
      FLOTILLA_GATEWAY_TLS_CERT: join(pki, 'gateway.crt'),
      FLOTILLA_GATEWAY_TLS_KEY: join(pki, 'gateway.key'),
      FLOTILLA_GATEWAY_TLS_CA: join(pki, 'ca.crt'),
    };
    const runtime = new ServiceRuntime('gateway', config.LOG_LEVEL);
    objects = new ObjectsClient(registryUrl, platform.tokens.gateway);
    const audit = new AuditClient(registryUrl, platform.tokens.gateway);
    const clusters = new RegistryClient(registryUrl, platform.tokens.gateway);
    await clusters.createCluster({ apiVersion: CLUSTER_API_VERSION, kind: 'Cluster', metadata: { name: 'prod-eu', labels: { env: 'prod' } }, spec: { provider: 'kubeadm', connection: { type: 'direct', kubeconfig: KUBECONFIG } } });
    runtime.shutdown.onClose('clients', async () => (objects.close(), audit.close(), clusters.close()));
    @Module({
      imports: [ServiceKitModule.forRoot(runtime, config)],
      controllers: [KubeconfigsController, AuditController],
      providers: [
        { provide: REGISTRY_CLIENT, useValue: clusters },
        { provide: OBJECT_STORE, useValue: objects },
        { provide: AUDIT_STORE, useValue: audit },
        auditRecorderProvider,
        gatewayCaProvider,
        KubeconfigsService,
        AuditQueryService,
      ],
    })
    class TestGatewayModule {}
    gateway = await startService({
      runtime,
      module: TestGatewayModule,
      config,
      http: { host: '127.0.0.1', port: platform.ports.gatewayHttp },
      https: loadGatewayHttps(config),
      grpc: { host: '127.0.0.1', port: platform.ports.gatewayGrpc, packages: [] },
      shutdownTimeoutMs: 10_000,
      configureHttp(app) {
        const http = app.getHttpAdapter().getInstance() as Express;
        http.use((req, _res, next) => {
          const principal = PRINCIPALS[(req.headers.authorization ?? '').replace(/^Bearer /, '')];
          if (principal) setPrincipal(req, principal);
          next();
        });
        http.use(app.get<AuditRecorder>(AUDIT_RECORDER).middleware());
        http.use('/apis', express.raw({ type: () => true, limit: 1024 * 1024 }));
      },
    });
  });

  afterAll(async () => {
    await gateway?.stop();
    await registry?.stop();
    await platform?.cleanup();
    if (pki) rmSync(pki, { recursive: true, force: true });
  });

  it('serves HTTPS only, health endpoints included', async () => {
    expect(gateway.httpUrl).toMatch(/^https:\/\/127\.0\.0\.1:/);
    for (const path of ['/healthz', '/livez', '/readyz', '/metrics']) expect([path, (await call('GET', path)).status]).toEqual([path, 200]);
    await expect(fetch(gateway.httpUrl.replace('https:', 'http:') + '/healthz')).rejects.toThrow();
  });

  it('hands out a working kubeconfig: proxy and flotilla contexts, the CA, a stored token', async () => {
    const res = await call('POST', '/apis/cluster.kubesphere.io/v1alpha1/clusters/prod-eu/kubeconfig', { as: 'as-alice', body: '{"expirationSeconds": 3600}', type: 'application/json' });
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toMatch(/^application\/yaml/);
    expect(res.headers['cache-control']).toBe('no-store');
    const doc = parse(res.text);
    expect(doc.contexts.map((c: { name: string }) => c.name)).toEqual(['prod-eu', 'flotilla']);
    expect(doc['current-context']).toBe('prod-eu');
    expect(doc.clusters[0].cluster.server).toBe(`${gateway.httpUrl}/apis/cluster.kubesphere.io/v1alpha1/clusters/prod-eu/proxy`);
    expect(Buffer.from(doc.clusters[1].cluster['certificate-authority-data'], 'base64').toString()).toBe(ca);
    const secret: string = doc.users[0].user.token;
    const stored = (await objects.get(IamResource.tokens, tokenNameOf(secret)!)).object as { metadata: { annotations: Record<string, string> }; spec: Record<string, string> };
    expect(stored.metadata.annotations[TOKEN_HASH_ANNOTATION]).toBe(tokenHash(secret));
    expect(stored.spec).toMatchObject({ user: 'alice', purpose: 'kubeconfig' });
    expect(res.headers['x-flotilla-token-name']).toBe(tokenNameOf(secret));

    const many = await call('POST', '/apis/iam.flotilla.io/v1alpha1/kubeconfigs', { as: 'as-alice', body: 'clusterSelector: {matchLabels: {env: prod}}\n', type: 'application/yaml' });
    expect(many.status).toBe(201);
    expect(parse(many.text).contexts.map((c: { name: string }) => c.name)).toEqual(['prod-eu', 'flotilla']);
  });

  it('refuses the admin token, unknown clusters and bad bodies with a Status', async () => {
    const admin = await call('POST', '/apis/cluster.kubesphere.io/v1alpha1/clusters/prod-eu/kubeconfig', { as: 'as-admin' });
    expect(admin.status).toBe(403);
    expect(JSON.parse(admin.text)).toMatchObject({ kind: 'Status', reason: 'Forbidden', message: 'create a user and a token: the admin token is never written into a kubeconfig' });
    expect((await call('POST', '/apis/cluster.kubesphere.io/v1alpha1/clusters/nope/kubeconfig', { as: 'as-alice' })).status).toBe(404);
    const bad = await call('POST', '/apis/iam.flotilla.io/v1alpha1/kubeconfigs', { as: 'as-alice', body: '{"clusters": ["Bad_Name"]}', type: 'application/json' });
    expect(bad.status).toBe(422);
    expect(JSON.parse(bad.text).details.causes[0].field).toBe('clusters[0]');
  });

  it('records each request in the audit log, with no secret, and answers the query over HTTPS', async () => {
    await eventually(async () => {
      const res = await call('GET', '/apis/audit.flotilla.io/v1alpha1/events?verb=create&user=alice', { as: 'as-alice' });
      expect(res.status).toBe(200);
      const list = JSON.parse(res.text);
      expect(list).toMatchObject({ apiVersion: 'audit.flotilla.io/v1alpha1', kind: 'EventList' });
      expect(list.items.map((e: { objectRef?: { subresource?: string; name?: string }; responseStatus: { code: number } }) => `${e.objectRef?.name}/${e.objectRef?.subresource}:${e.responseStatus.code}`)).toEqual(
        expect.arrayContaining(['prod-eu/kubeconfig:201', 'nope/kubeconfig:404']),
      );
    });
    const everything = await call('GET', '/apis/audit.flotilla.io/v1alpha1/events?limit=1000', { as: 'as-alice' });
    expect(everything.text).not.toMatch(/flt_[a-z0-9]+_/);
    expect(JSON.parse(everything.text).items.some((e: { user: { username: string } }) => e.user.username === 'admin')).toBe(true);
    const bad = await call('GET', '/apis/audit.flotilla.io/v1alpha1/events?since=yesterday', { as: 'as-alice' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({ kind: 'Status', reason: 'BadRequest', details: { causes: [{ field: 'since' }] } });
  });
});
