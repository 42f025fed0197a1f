import { Module } from '@nestjs/common';
import express, { Express } from 'express';
import { Client } from 'pg';
import { OBJECT_STORE, ObjectsClient } from '@flotilla/clients';
import { ErrorReason, FlotillaError, TOKEN_HASH_ANNOTATION, tokenHash, tokenNameOf } from '@flotilla/domain';
import { RunningService, ServiceKitModule, ServiceRuntime, startService } from '@flotilla/service-kit';
import { PlatformEnv, SourceProcess, eventually, preparePlatformEnv, startSourceProcess } from '@flotilla/testing';
import { loadGatewayConfig } from '../config';
import { CHANGE_FEED, ChangeFeed } from '../resources/change-feed';
import { RESOURCE_AUTHORIZER, ResourceAuthorizer, ResourceRoutes } from '../resources/resource-routes';
import { IamModule } from './iam.module';

const USERS = '/apis/iam.kubesphere.io/v1beta1/users';
const TOKENS = '/apis/iam.flotilla.io/v1alpha1/tokens';
const GRBS = '/apis/iam.kubesphere.io/v1beta1/globalrolebindings';
const CABS = '/apis/iam.flotilla.io/v1alpha1/clusteraccessbindings';
const ROLES = '/apis/iam.kubesphere.io/v1beta1/globalroles';

/** Refuses deletes of users to callers sending `x-test-deny`: proves the layer asks its authorizer. */
const testAuthorizer: ResourceAuthorizer = {
  authorize(req, a) {
    if (req.headers['x-test-deny'] && a.verb === 'delete') throw new FlotillaError(ErrorReason.Forbidden, `${a.resource}.${a.group} "${a.name}" is forbidden: cannot ${a.verb}`);
  },
};

describe('IAM REST API (generic resource layer over the registry object store, real Postgres)', () => {
  let platform: PlatformEnv;
  let registry: SourceProcess;
  let gateway: RunningService;
  let base: string;
  let pg: Client;

  async function call(method: string, path: string, init: { body?: unknown; type?: string; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (init.body !== undefined) headers['content-type'] = init.type ?? 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers, body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body) });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : undefined) as Record<string, any>, text };
  }

  /** Opens a watch and collects its events as they arrive. */
  async function watch(path: string) {
    const controller = new AbortController();
    const res = await fetch(`${base}${path}`, { signal: controller.signal });
    const events: Record<string, any>[] = [];
    let buffered = '';
    const reading = (async () => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffered += decoder.decode(chunk, { stream: true });
          let nl: number;
          while ((nl = buffered.indexOf('\n')) >= 0) {
            events.push(JSON.parse(buffered.slice(0, nl)));
            buffered = buffered.slice(nl + 1);
          }
        }
      } catch {
        // aborted
      }
    })();
    return { status: res.status, events, close: async () => (controller.abort(), await reading) };
  }

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    // The registry runs as its own process from source (a service never imports another).
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    const config = { ...loadGatewayConfig(platform.env('gateway')), FLOTILLA_FEED_POLL_MS: 100, FLOTILLA_TOKEN_MAX_TTL_DAYS: 365 };
    const runtime = new ServiceRuntime('gateway', config.LOG_LEVEL);
    const objectStore = {
      provide: OBJECT_STORE,
      useFactory: () => {
        const client = new ObjectsClient(config.REGISTRY_GRPC_URL, platform.tokens.gateway);
        runtime.shutdown.onClose('objects-client', async () => client.close());
        return client;
      },
    };
    @Module({ imports: [ServiceKitModule.forRoot(runtime, config), IamModule.register({ objectStore, authorizer: { provide: RESOURCE_AUTHORIZER, useValue: testAuthorizer } })] })
    class TestGatewayModule {}
    gateway = await startService({
      runtime,
      module: TestGatewayModule,
      config,
      http: { host: '127.0.0.1', port: platform.ports.gatewayHttp },
      grpc: { host: '127.0.0.1', port: platform.ports.gatewayGrpc, packages: [] },
      shutdownTimeoutMs: 10_000,
      configureHttp(app) {
        // As main.ts: bodies read raw under a bound, then the resource routes.
        const http = app.getHttpAdapter().getInstance() as Express;
        http.use('/apis', express.raw({ type: () => true, limit: config.MAX_BODY_BYTES }));
        http.use(app.get(ResourceRoutes).router());
      },
    });
    base = gateway.httpUrl;
    pg = new Client({ connectionString: platform.db.url });
    await pg.connect();
  });

  afterAll(async () => {
    await pg?.end();
    await gateway?.stop();
    await registry?.stop();
    await platform?.cleanup();
  });

  it('creates users, serves them back, and answers errors as Status naming the field', async () => {
    const created = await call('POST', USERS, { body: { apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'User', metadata: { name: 'alice' }, spec: { email: 'alice@example.com' } } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ kind: 'User', metadata: { name: 'alice', uid: expect.any(String), resourceVersion: expect.stringMatching(/^\d+$/) }, status: { state: 'Active' } });
    expect((await call('GET', `${USERS}/alice`)).json.spec).toEqual({ email: 'alice@example.com' });
    // YAML works as for clusters.
    expect((await call('POST', USERS, { body: 'metadata:\n  name: bob\n', type: 'application/yaml' })).status).toBe(201);

    const bad = await call('POST', USERS, { body: { metadata: { name: 'Carol!' }, spec: { email: 'x' } } });
    expect(bad.status).toBe(422);
    expect(bad.json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Invalid', code: 422 });
    expect(bad.json.details.causes.map((c: { field: string }) => c.field)).toEqual(['metadata.name', 'spec.email']);
    expect((await call('POST', USERS, { body: { metadata: { name: 'alice' } } })).json).toMatchObject({ reason: 'AlreadyExists', code: 409 });
    expect((await call('GET', `${USERS}/nobody`)).json).toMatchObject({ reason: 'NotFound', code: 404, message: 'users.iam.kubesphere.io "nobody" not found' });

    const dry = await call('POST', `${USERS}?dryRun=All`, { body: { metadata: { name: 'dave' } } });
    expect(dry.status).toBe(201);
    expect((await call('GET', `${USERS}/dave`)).status).toBe(404);

    const listed = await call('GET', `${USERS}?labelSelector=&fieldSelector=metadata.name%3Dbob`);
    expect(listed.json).toMatchObject({ kind: 'UserList', apiVersion: 'iam.kubesphere.io/v1beta1', metadata: { resourceVersion: expect.any(String) } });
    expect(listed.json.items.map((u: { metadata: { name: string } }) => u.metadata.name)).toEqual(['bob']);
    const paged = await call('GET', `${USERS}?limit=1`);
    expect(paged.json.items).toHaveLength(1);
    expect(paged.json.metadata.continue).toEqual(expect.any(String));
    const rest = await call('GET', `${USERS}?limit=1&continue=${encodeURIComponent(paged.json.metadata.continue)}`);
    expect(rest.json.items.map((u: { metadata: { name: string } }) => u.metadata.name)).toEqual(['bob']);
  });

  it('mints a token whose secret is shown once and stored only as a hash, and revokes it', async () => {
    const created = await call('POST', TOKENS, { body: { apiVersion: 'iam.flotilla.io/v1alpha1', kind: 'Token', spec: { user: 'alice', description: 'ci' } } });
    expect(created.status).toBe(201);
    const name: string = created.json.metadata.name;
    const secret: string = created.json.status.secret;
    expect(tokenNameOf(secret)).toBe(name);
    expect(created.json.metadata.annotations?.[TOKEN_HASH_ANNOTATION]).toBeUndefined();

    const { rows } = await pg.query(`SELECT object::text AS text FROM objects WHERE resource = 'tokens.iam.flotilla.io' AND name = $1`, [name]);
    expect(rows[0].text).not.toContain(secret);
    expect(rows[0].text).toContain(tokenHash(secret));

    for (const answer of [await call('GET', TOKENS), await call('GET', `${TOKENS}/${name}`)]) {
      expect(answer.status).toBe(200);
      expect(answer.text).not.toContain(secret);
      expect(answer.text).not.toContain(tokenHash(secret));
      expect(answer.text).not.toContain(TOKEN_HASH_ANNOTATION);
    }

    const missing = await call('POST', TOKENS, { body: { spec: { user: 'nobody' } } });
    expect(missing.status).toBe(422);
    expect(missing.json.details.causes).toEqual([expect.objectContaining({ field: 'spec.user' })]);
    const named = await call('POST', TOKENS, { body: { metadata: { name: 'mine' }, spec: { user: 'alice' } } });
    expect(named.json.details.causes).toEqual([expect.objectContaining({ field: 'metadata.name', reason: 'FieldValueForbidden' })]);

    // Only the description may change; the hash survives every write.
    const patched = await call('PATCH', `${TOKENS}/${name}`, { body: { spec: { description: 'deploys' } }, type: 'application/merge-patch+json' });
    expect(patched.status).toBe(200);
    expect(patched.json.spec).toMatchObject({ user: 'alice', description: 'deploys' });
    expect(patched.text).not.toContain(TOKEN_HASH_ANNOTATION);
    const retarget = await call('PATCH', `${TOKENS}/${name}`, { body: [{ op: 'replace', path: '/spec/user', value: 'bob' }], type: 'application/json-patch+json' });
    expect(retarget.status).toBe(422);
    expect(retarget.json.details.causes[0].field).toBe('spec.user');
    const { rows: after } = await pg.query(`SELECT object::text AS text FROM objects WHERE resource = 'tokens.iam.flotilla.io' AND name = $1`, [name]);
    expect(after[0].text).toContain(tokenHash(secret));

    const revoked = await call('DELETE', `${TOKENS}/${name}`);
    expect(revoked.json).toMatchObject({ kind: 'Status', status: 'Success', details: { name, group: 'iam.flotilla.io', kind: 'tokens' } });
    expect((await call('GET', `${TOKENS}/${name}`)).status).toBe(404);
  });

  it('refuses a stale update with 409 and keeps the current object', async () => {
    const current = (await call('GET', `${USERS}/bob`)).json;
    const first = await call('PUT', `${USERS}/bob`, { body: { ...current, spec: { description: 'first' } } });
    expect(first.status).toBe(200);
    const stale = await call('PUT', `${USERS}/bob`, { body: { ...current, spec: { description: 'second' } } });
    expect(stale.status).toBe(409);
    expect(stale.json).toMatchObject({ kind: 'Status', reason: 'Conflict' });
    expect((await call('GET', `${USERS}/bob`)).json.spec.description).toBe('first');
    expect((await call('PUT', `${USERS}/bob`, { body: { ...current, metadata: { name: 'other' } } })).status).toBe(400);
  });

  it('streams changes to a watch, resumes from a resourceVersion, and answers 410 when it cannot', async () => {
    const listed = (await call('GET', USERS)).json;
    const w = await watch(`${USERS}?watch=true&resourceVersion=${listed.metadata.resourceVersion}`);
    expect(w.status).toBe(200);
    await call('POST', USERS, { body: { metadata: { name: 'erin' } } });
    await eventually(() => expect(w.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED erin']));
    await call('DELETE', `${USERS}/erin`);
    await eventually(() => expect(w.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED erin', 'DELETED erin']));
    await w.close();

    // Resuming from the old list version replays what happened since; no version: ADDED for each object.
    const resumed = await watch(`${USERS}?watch=true&resourceVersion=${listed.metadata.resourceVersion}&fieldSelector=metadata.name%3Derin`);
    await eventually(() => expect(resumed.events.map((e) => e.type)).toEqual(['ADDED', 'DELETED']));
    await resumed.close();
    const fresh = await watch(`${USERS}?watch=true`);
    await eventually(() => expect(fresh.events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED alice', 'ADDED bob']));
    await fresh.close();

    const expired = await call('GET', `${USERS}?watch=true&resourceVersion=999999999999`);
    expect(expired.status).toBe(410);
    expect(expired.json).toMatchObject({ kind: 'Status', reason: 'Expired', code: 410 });
  });

  it('serves the built-in GlobalRoles read-only and binds only to them', async () => {
    const roles = await call('GET', ROLES);
    expect(roles.json.items.map((r: { metadata: { name: string } }) => r.metadata.name)).toEqual(['fleet-admin', 'fleet-viewer']);
    expect((await call('DELETE', `${ROLES}/fleet-admin`)).json).toMatchObject({ reason: 'MethodNotAllowed', code: 405 });
    const bad = await call('POST', GRBS, { body: { metadata: { name: 'x' }, subjects: [{ kind: 'User', name: 'alice' }], roleRef: { name: 'root' } } });
    expect(bad.status).toBe(422);
    expect(bad.json.details.causes[0].field).toBe('roleRef.name');
  });

  it('answers a write only once this replica\'s change feed has it (a revocation is effective at once)', async () => {
    const feed = gateway.app.get<ChangeFeed>(CHANGE_FEED);
    const seen: string[] = [];
    const stop = feed.follow(['tokens.iam.flotilla.io'], (e) => {
      seen.push(e.type === 'SYNC' ? 'SYNC' : `${e.change.type} ${e.change.object.name}`);
    });
    try {
      await call('POST', USERS, { body: { metadata: { name: 'gina' } } });
      // Once the follower has its SYNC, each answer must find its change already delivered: no waiting after a write.
      await eventually(() => expect(seen).toEqual(['SYNC']));
      const name = (await call('POST', TOKENS, { body: { spec: { user: 'gina' } } })).json.metadata.name as string;
      expect(seen).toContain(`ADDED ${name}`);
      await call('DELETE', `${TOKENS}/${name}`);
      expect(seen).toContain(`DELETED ${name}`);
    } finally {
      stop();
    }
    expect((await call('POST', `${USERS}/gina`, { body: {} })).json).toMatchObject({ kind: 'Status', reason: 'MethodNotAllowed', code: 405 });
  });

  it('deleting a user revokes its tokens and removes it from every binding', async () => {
    await call('POST', USERS, { body: { metadata: { name: 'frank' } } });
    const token = (await call('POST', TOKENS, { body: { spec: { user: 'frank' } } })).json.metadata.name as string;
    const other = (await call('POST', TOKENS, { body: { spec: { user: 'alice' } } })).json.metadata.name as string;
    expect((await call('POST', GRBS, { body: { metadata: { name: 'viewers' }, subjects: [{ kind: 'User', name: 'frank' }, { kind: 'User', name: 'alice' }, { kind: 'Token', name: token }], roleRef: { name: 'fleet-viewer' } } })).status).toBe(201);
    expect((await call('POST', CABS, { body: { metadata: { name: 'frank-prod' }, subjects: [{ kind: 'User', name: 'frank' }], role: 'cluster-viewer', clusterSelector: { matchLabels: { env: 'prod' } } } })).status).toBe(201);

    expect((await call('DELETE', `${USERS}/frank`, { headers: { 'x-test-deny': '1' } })).json).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
    expect((await call('DELETE', `${USERS}/frank`)).json).toMatchObject({ status: 'Success' });
    expect((await call('GET', `${TOKENS}/${token}`)).status).toBe(404);
    expect((await call('GET', `${TOKENS}/${other}`)).status).toBe(200);
    expect((await call('GET', `${GRBS}/viewers`)).json.subjects).toEqual([{ kind: 'User', name: 'alice' }]);
    expect((await call('GET', `${CABS}/frank-prod`)).status).toBe(404);
    // Safe to run again: the user is gone, the cascade has nothing left to do.
    expect((await call('DELETE', `${USERS}/frank`)).status).toBe(404);
  });

  it('ends open watches when the gateway shuts down', async () => {
    const open = await watch(`${USERS}?watch=true`);
    await eventually(() => expect(open.events.length).toBeGreaterThan(0));
    await gateway.stop(); // hangs if a watch kept the HTTP server open
    await open.close();
  });
});
