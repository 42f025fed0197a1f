import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, eventually, freePort, preparePlatformEnv } from '@flotilla/testing';
import { startRegistry } from '../../services/registry/src/main';
import { startGateway } from '../../services/gateway/src/main';

/**
 * Issue 14: a Token DELETE revokes at once on the replica that served it, and within 5 s on every
 * other gateway replica (each decides from its own in-memory mirror, fed by the registry's change
 * log: ADR 0031). Two real gateways share one registry and Postgres.
 */
const USERS = '/apis/iam.kubesphere.io/v1beta1/users';
const TOKENS = '/apis/iam.flotilla.io/v1alpha1/tokens';
const CLUSTERS = '/apis/cluster.kubesphere.io/v1alpha1/clusters';
const BINDINGS = '/apis/iam.kubesphere.io/v1beta1/globalrolebindings';

describe('token revocation across gateway replicas', () => {
  let platform: PlatformEnv;
  let registry: RunningService;
  let a: RunningService;
  let b: RunningService;

  const call = async (base: string, method: string, path: string, token: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, json: (await res.json().catch(() => ({}))) as Record<string, any> };
  };

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    ({ running: registry } = await startRegistry(platform.env('registry')));
    ({ running: a } = await startGateway(platform.env('gateway')));
    ({ running: b } = await startGateway({ ...platform.env('gateway'), PORT: String(await freePort()), GRPC_PORT: String(await freePort()) }));
    for (const g of [a, b]) await eventually(async () => expect((await fetch(`${g.httpUrl}/readyz`)).status).toBe(200), { timeoutMs: 15_000 });
  });

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await registry?.stop();
    await platform?.cleanup();
  });

  it('refuses a deleted token at once on the replica that deleted it and within 5 s on the other', async () => {
    const admin = platform.adminToken;
    expect((await call(a.httpUrl, 'POST', USERS, admin, { apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'User', metadata: { name: 'carol' }, spec: { email: 'carol@example.com' } })).status).toBe(201);
    const binding = { apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'GlobalRoleBinding', metadata: { name: 'carol-viewer' }, subjects: [{ kind: 'User', name: 'carol' }], roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name: 'fleet-viewer' } };
    expect((await call(a.httpUrl, 'POST', BINDINGS, admin, binding)).status).toBe(201);
    const created = await call(a.httpUrl, 'POST', TOKENS, admin, { apiVersion: 'iam.flotilla.io/v1alpha1', kind: 'Token', metadata: {}, spec: { user: 'carol', description: 'revocation test' } });
    expect(created.status).toBe(201);
    const secret = created.json.status.secret as string;
    const name = created.json.metadata.name as string;
    expect(secret).toMatch(/^flt_/);

    // Both replicas accept it (B once its feed has applied the write).
    expect((await call(a.httpUrl, 'GET', CLUSTERS, secret)).status).toBe(200);
    await eventually(async () => expect((await call(b.httpUrl, 'GET', CLUSTERS, secret)).status).toBe(200), { timeoutMs: 5_000 });

    expect((await call(a.httpUrl, 'DELETE', `${TOKENS}/${name}`, admin)).status).toBe(200);
    const deletedAt = Date.now();
    // At once on A: the DELETE is answered only after A's mirror has applied it.
    expect((await call(a.httpUrl, 'GET', CLUSTERS, secret)).status).toBe(401);
    // Within 5 s on B.
    await eventually(async () => expect((await call(b.httpUrl, 'GET', CLUSTERS, secret)).status).toBe(401), { timeoutMs: 5_000, intervalMs: 50 });
    expect(Date.now() - deletedAt).toBeLessThan(5_000);
    // The secret never comes back in a list.
    const listed = await call(b.httpUrl, 'GET', TOKENS, admin);
    expect(JSON.stringify(listed.json)).not.toContain(secret.slice(-20));
  });
});
