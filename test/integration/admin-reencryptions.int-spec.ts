import { randomBytes } from 'node:crypto';
import { CLUSTER_API_VERSION } from '@flotilla/domain';
import { RegistryClient } from '@flotilla/clients';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, eventually, preparePlatformEnv } from '@flotilla/testing';
import { startGateway } from '../../services/gateway/src/main';
import { startRegistry } from '../../services/registry/src/main';

const PATH = '/apis/admin.flotilla.io/v1alpha1/reencryptions';
const SECRET = 'REST-REENC-SECRET-51';
const kubeconfig = (i: number) =>
  `apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster: {server: "https://203.0.113.10:6443"}\nusers:\n- name: u\n  user: {token: "${SECRET}-${i}"}\ncontexts:\n- name: m\n  context: {cluster: m, user: u}\ncurrent-context: m\n`;

describe('REST: /apis/admin.flotilla.io/v1alpha1/reencryptions (gateway, registry, real Postgres)', () => {
  let platform: PlatformEnv;
  let registry: RunningService | undefined;
  let gateway: RunningService;
  const k2 = `k2:${randomBytes(32).toString('base64')}`;

  async function call(method: string, path: string, init: { body?: string; token?: string | null } = {}) {
    const headers: Record<string, string> = {};
    if (init.token !== null) headers.authorization = `Bearer ${init.token ?? platform.adminToken}`;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${gateway.httpUrl}${path}`, { method, headers, body: init.body });
    const text = await res.text();
    return { status: res.status, json: JSON.parse(text) as Record<string, any>, text };
  }

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    // Three credentials under k1, then the registry restarted with k2 in front (a rotation).
    ({ running: registry } = await startRegistry(platform.env('registry')));
    const clusters = new RegistryClient(registry.grpcTarget, platform.internalToken);
    for (const i of [1, 2, 3]) {
      await clusters.createCluster({ apiVersion: CLUSTER_API_VERSION, kind: 'Cluster', metadata: { name: `m${i}` }, spec: { provider: 'kubeadm', connection: { type: 'direct', kubeconfig: kubeconfig(i) } } });
    }
    clusters.close();
    await registry.stop();
    ({ running: registry } = await startRegistry({ ...platform.env('registry'), FLOTILLA_ENCRYPTION_KEYS: `${k2},${platform.encryptionKeys}` }));
    ({ running: gateway } = await startGateway(platform.env('gateway')));
  });

  afterAll(async () => {
    await gateway?.stop();
    await registry?.stop();
    await platform?.cleanup();
  });

  it('is for the admin only', async () => {
    for (const [method, path] of [['POST', PATH], ['GET', PATH], ['GET', `${PATH}/x`]] as const) {
      const r = await call(method, path, { token: null });
      expect([method, path, r.status, r.json.reason]).toEqual([method, path, 401, 'Unauthorized']);
    }
    expect((await call('POST', PATH, { token: 'not-the-admin-token-000000000000000' })).status).toBe(401);
    expect((await call('GET', PATH)).json.items).toEqual([]);
  });

  it('refuses a body that asks for anything but the current key, naming the field', async () => {
    const spec = await call('POST', PATH, { body: JSON.stringify({ apiVersion: 'admin.flotilla.io/v1alpha1', kind: 'Reencryption', spec: { targetKeyId: 'k1' } }) });
    expect(spec.status).toBe(400);
    expect(spec.json).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
    expect(spec.json.details.causes).toEqual([expect.objectContaining({ field: 'spec', reason: 'FieldValueForbidden' })]);
    expect(spec.json.message).toContain('first of FLOTILLA_ENCRYPTION_KEYS');
    const kind = await call('POST', PATH, { body: JSON.stringify({ kind: 'Cluster' }) });
    expect([kind.status, kind.json.details.causes.map((c: { field: string }) => c.field)]).toEqual([400, ['kind']]);
    expect((await call('POST', PATH, { body: '{"kind":' })).json).toMatchObject({ reason: 'BadRequest', code: 400 });
    // Nothing was started.
    expect((await call('GET', PATH)).json.items).toEqual([]);
  });

  it('starts a run to the current key and shows its progress until every ciphertext is under it', async () => {
    const started = await call('POST', PATH);
    expect(started.status).toBe(201);
    expect(started.json).toMatchObject({
      apiVersion: 'admin.flotilla.io/v1alpha1',
      kind: 'Reencryption',
      spec: { targetKeyId: 'k2' },
      status: { phase: 'Running', rowsTotal: 3 },
    });
    const name: string = started.json.metadata.name;
    const done = await eventually(async () => {
      const r = await call('GET', `${PATH}/${name}`);
      expect(r.json.status.phase).toBe('Succeeded');
      return r;
    });
    expect(done.json.status).toMatchObject({ rowsTotal: 3, rowsDone: 3, rowsRemaining: 0 });
    expect(done.json.status.completionTime).toEqual(expect.any(String));
    expect(done.json.status.keys).toEqual([
      { keyId: 'k2', ciphertexts: 3, current: true, inKeyRing: true },
      { keyId: 'k1', ciphertexts: 0, current: false, inKeyRing: true },
    ]);

    const list = await call('GET', PATH);
    expect(list.json).toMatchObject({ apiVersion: 'admin.flotilla.io/v1alpha1', kind: 'ReencryptionList' });
    expect(list.json.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual([name]);
    expect(list.json.keys).toEqual(done.json.status.keys);
    expect(started.text + done.text + list.text).not.toContain(SECRET);

    // The registry's metric says k1 seals nothing now: it can be removed.
    const metrics = await (await fetch(`${registry!.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/^flotilla_credentials_ciphertexts\{[^}]*key_id="k1"[^}]*\} 0$/m);
    expect(metrics).toMatch(/^flotilla_credentials_ciphertexts\{[^}]*key_id="k2"[^}]*\} 3$/m);
  });

  it('answers NotFound for an unknown run', async () => {
    for (const name of ['reencrypt-nope', 'Bad_Name']) {
      const r = await call('GET', `${PATH}/${name}`);
      expect([r.status, r.json.reason, r.json.message]).toEqual([404, 'NotFound', `reencryptions.admin.flotilla.io "${name}" not found`]);
    }
  });
});
