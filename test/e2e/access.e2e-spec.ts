import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { MemberAddressPolicy, MemberClient, parseKubeconfig } from '@flotilla/kube';
import { ClusterHandle, KubeEmulator, kubectl, kubectlSpawn, writeKubeconfig, followOutput } from '@flotilla/kube-emulator';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, eventually, httpsCall, makeDevPki, preparePlatformEnv } from '@flotilla/testing';
import { startRegistry } from '../../services/registry/src/main';
import { startGateway } from '../../services/gateway/src/main';
import { startProviderImport } from '../../services/provider-import/src/main';

/**
 * Issue 14's proof, end to end: a real kubectl v1.33 with a kubeconfig from POST .../kubeconfig,
 * through the real gateway (registry, gateway and provider-import in this process, real Postgres
 * and Redis) to emulated members imported through REST. Each step as a user with the role and as
 * one without. OIDC tokens come from a real oidc-provider (child process).
 */
type Json = Record<string, any>;
const CLUSTERS = '/apis/cluster.kubesphere.io/v1alpha1/clusters';
const USERS = '/apis/iam.kubesphere.io/v1beta1/users';
const TOKENS = '/apis/iam.flotilla.io/v1alpha1/tokens';
const CABS = '/apis/iam.flotilla.io/v1alpha1/clusteraccessbindings';
const GRBS = '/apis/iam.kubesphere.io/v1beta1/globalrolebindings';
const AUDIENCE = 'urn:flotilla:gateway';
const policy = new MemberAddressPolicy({ allowLoopback: true });
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** A kubeconfig of Flotilla's with its user's token replaced (another user, an OIDC JWT). */
function withToken(kubeconfigYaml: string, token: string): string {
  const doc = parse(kubeconfigYaml) as Json;
  for (const u of doc.users) u.user = { token };
  return writeKubeconfig(stringify(doc));
}

describe('issue 14: a real kubectl through Flotilla, as yourself (users, roles, impersonation, audit)', () => {
  let platform: PlatformEnv;
  let emu: KubeEmulator;
  let a: ClusterHandle; // imported as "alpha": impersonation on
  let b: ClusterHandle; // imported as "bravo": impersonation off, member-role cluster-admin
  let registry: RunningService;
  let importer: RunningService;
  let gateway: RunningService;
  let oidc: ChildProcess;
  let issuer: { main: string; clientId: string; clientSecret: string };
  let base: string;
  let pki: string;
  let gatewayCa: string;
  const secrets: Record<string, string> = {};
  const kc: Record<string, string> = {};
  let aliceYaml = '';
  let aliceTokenName = '';

  /** A REST call to the gateway over HTTPS (trusting its CA). */
  function call(method: string, path: string, body?: unknown, token = platform.adminToken) {
    return httpsCall({ base, ca: gatewayCa, token }, method, path, { body });
  }
  const created = async (path: string, body: Json) => expect((await call('POST', path, body)).status).toBe(201);
  const k = (who: string, args: string[], input?: string) => kubectl(args, { kubeconfig: kc[who]!, input, timeoutMs: 30_000 });
  /** kubectl auth can-i's answer, or its error when it gave none. */
  const answer = (r: { stdout: string; stderr: string }) => (/^(yes|no)\b/.exec(r.stdout.trim())?.[1] ?? r.stderr.trim());
  const admin = (c: ClusterHandle) => new MemberClient(parseKubeconfig(c.kubeconfig('admin')), 5000, { policy });

  async function importCluster(name: string, c: ClusterHandle, annotations: Record<string, string>) {
    await created(CLUSTERS, {
      apiVersion: 'cluster.kubesphere.io/v1alpha1',
      kind: 'Cluster',
      metadata: { name, labels: { env: 'dev' }, annotations: { 'import.flotilla.io/credentials': 'service-account', ...annotations } },
      spec: { connection: { type: 'direct', kubeconfig: c.kubeconfig('admin-token') } },
    });
  }

  beforeAll(async () => {
    // Everything that listens on an ephemeral port starts before the platform picks its free ports.
    oidc = spawn(process.execPath, [join(__dirname, '../../services/gateway/src/auth/testing/oidc-provider-fixture.mjs')], { stdio: ['ignore', 'pipe', 'pipe'] });
    issuer = await new Promise((resolve, reject) => {
      let out = '';
      oidc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
      });
      oidc.once('exit', (code) => reject(new Error(`the OIDC provider fixture exited (${code})`)));
    });
    emu = await KubeEmulator.start({ clusters: 0 });
    [a, b] = [await emu.addCluster({ flavour: 'kubeadm' }), await emu.addCluster({ flavour: 'kubeadm' })];
    platform = await preparePlatformEnv();
    // kubectl sends no bearer token over plain http: the gateway serves HTTPS, as in production.
    pki = mkdtempSync(join(tmpdir(), 'flotilla-access-e2e-'));
    makeDevPki(pki, ['gateway']);
    gatewayCa = readFileSync(join(pki, 'ca.crt'), 'utf8');
    ({ running: registry } = await startRegistry(platform.env('registry')));
    ({ running: importer } = await startProviderImport({ ...platform.env('provider-import'), FLOTILLA_ACCESS_SYNC_POLL_MS: '100' }));
    ({ running: gateway } = await startGateway({
      ...platform.env('gateway'),
      FLOTILLA_FEED_POLL_MS: '100',
      FLOTILLA_OIDC_ISSUER_URL: issuer.main,
      FLOTILLA_OIDC_AUDIENCE: AUDIENCE,
      FLOTILLA_OIDC_ALLOW_HTTP_ISSUER: 'true',
      FLOTILLA_GATEWAY_TLS_CERT: join(pki, 'gateway.crt'),
      FLOTILLA_GATEWAY_TLS_KEY: join(pki, 'gateway.key'),
      FLOTILLA_GATEWAY_TLS_CA: join(pki, 'ca.crt'),
    }));
    base = gateway.httpUrl;

    // Step 1 (as the admin): two members, users, tokens, bindings.
    await importCluster('alpha', a, {});
    await importCluster('bravo', b, { 'proxy.flotilla.io/impersonation': 'off', 'import.flotilla.io/member-role': 'cluster-admin' });
    for (const user of ['alice', 'victor', 'nobody']) {
      await created(USERS, { apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'User', metadata: { name: user }, spec: { email: `${user}@example.com` } });
      const t = await call('POST', TOKENS, { spec: { user, description: 'e2e' } });
      expect(t.status).toBe(201);
      secrets[user] = t.json.status.secret as string;
    }
    await created(CABS, { metadata: { name: 'alice-edits-alpha' }, subjects: [{ kind: 'User', name: 'alice' }], role: 'cluster-editor', clusters: ['alpha'] });
    await created(CABS, { metadata: { name: 'victor-views-dev' }, subjects: [{ kind: 'User', name: 'victor' }], role: 'cluster-viewer', clusterSelector: { matchLabels: { env: 'dev' } } });
    await created(CABS, { metadata: { name: 'oidc-views-alpha' }, subjects: [{ kind: 'User', name: `oidc:${issuer.clientId}` }], role: 'cluster-viewer', clusters: ['alpha'] });
    await created(GRBS, { metadata: { name: 'victor-fleet-viewer' }, subjects: [{ kind: 'User', name: 'victor' }], roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name: 'fleet-viewer' } });

    for (const name of ['alpha', 'bravo']) {
      await eventually(async () => {
        const c = (await call('GET', `${CLUSTERS}/${name}`)).json;
        expect((c.status?.conditions ?? []).find((x: Json) => x.type === 'Ready')).toMatchObject({ status: 'True' });
      }, { timeoutMs: 30_000, intervalMs: 200 });
    }
    // The access sync (ADR 0030) has written the users bound to alpha into its impersonation rule.
    await eventually(async () => {
      const role = await admin(a).request('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/flotilla:impersonation');
      expect(role.status).toBe(200);
      const names = ((role.body as Json).rules as Json[]).flatMap((r) => r.resourceNames ?? []);
      expect(names).toEqual(expect.arrayContaining(['flotilla:user:alice', 'flotilla:user:victor', `flotilla:user:oidc:${issuer.clientId}`, 'flotilla:role:cluster-editor']));
    }, { timeoutMs: 30_000, intervalMs: 200 });

    // A pod for logs, exec and port-forward, made in the member directly.
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' }, spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 8080 }] }] } };
    expect((await admin(a).request('POST', '/api/v1/namespaces/default/pods', pod)).status).toBe(201);
    a.recordRequests();
    b.recordRequests();
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    await importer?.stop();
    await registry?.stop();
    await emu?.stop();
    if (oidc && oidc.exitCode === null) oidc.kill('SIGTERM');
    await platform?.cleanup();
    if (pki) rmSync(pki, { recursive: true, force: true });
  });

  it('1. POST .../clusters/alpha/kubeconfig as alice gives a working kubeconfig; nobody (no binding) gets 403', async () => {
    const got = await call('POST', `${CLUSTERS}/alpha/kubeconfig`, undefined, secrets.alice);
    expect(got.status).toBe(201);
    aliceYaml = got.text;
    aliceTokenName = got.headers['x-flotilla-token-name'] as string;
    const doc = parse(aliceYaml) as Json;
    expect(doc['current-context']).toBe('alpha');
    expect(doc.contexts.map((c: Json) => c.name)).toEqual(['alpha', 'flotilla']);
    expect(aliceYaml).not.toContain(platform.adminToken);
    kc.alice = writeKubeconfig(aliceYaml);
    secrets.aliceKubeconfig = doc.users[0].user.token as string;
    const refused = await call('POST', `${CLUSTERS}/alpha/kubeconfig`, undefined, secrets.nobody);
    expect(refused.status).toBe(403);
    const victor = await call('POST', '/apis/iam.flotilla.io/v1alpha1/kubeconfigs', { clusterSelector: { matchLabels: { env: 'dev' } } }, secrets.victor);
    expect(victor.status).toBe(201);
    kc.victor = writeKubeconfig(victor.text);
    secrets.victorKubeconfig = (parse(victor.text) as Json).users[0].user.token as string;
    kc.nobody = withToken(aliceYaml, secrets.nobody);
  });

  it('2a. get pods -A, apply --server-side, delete: alice (editor) may; nobody is refused by Flotilla', async () => {
    const pods = await k('alice', ['get', 'pods', '-A']);
    expect(pods.stderr).toBe('');
    expect(pods.stdout).toMatch(/default\s+web\s/);
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: demo, namespace: default}\ndata: {k: v}\n';
    const applied = await k('alice', ['apply', '--server-side', '-f', '-'], cm);
    expect(applied).toMatchObject({ code: 0, stdout: expect.stringContaining('configmap/demo serverside-applied') });
    expect(((await admin(a).request('GET', '/api/v1/namespaces/default/configmaps/demo')).body as Json).data).toEqual({ k: 'v' });
    expect(await k('alice', ['delete', 'configmap', 'demo'])).toMatchObject({ code: 0, stdout: expect.stringContaining('configmap "demo" deleted') });

    const nobody = await k('nobody', ['get', 'pods', '-A']);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/forbidden|Forbidden/);
    const victorApply = await k('victor', ['--context', 'alpha', 'apply', '--server-side', '-f', '-'], cm);
    expect(victorApply.code).toBe(1);
    expect(victorApply.stderr).toMatch(/User "flotilla:user:victor" cannot patch resource "configmaps"/);
  });

  it('2b. get configmaps -w receives a change made directly in the member', async () => {
    const w = followOutput(await kubectlSpawn(['get', 'configmaps', '-w'], { kubeconfig: kc.alice! }));
    try {
      await w.waitFor(/kube-root-ca\.crt/);
      await admin(a).request('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-member' }, data: { a: 'b' } });
      await w.waitFor(/from-member/);
    } finally {
      await w.stop();
    }
  });

  it('2c. logs -f receives appended lines', async () => {
    await eventually(async () => expect((await k('alice', ['get', 'pod', 'web', '-o', 'jsonpath={.status.phase}'])).stdout).toBe('Running'));
    const f = followOutput(await kubectlSpawn(['logs', '-f', 'web'], { kubeconfig: kc.alice! }));
    try {
      a.appendLog('default', 'web', 'first line');
      await f.waitFor(/first line/);
      a.appendLog('default', 'web', 'second line\nthird line');
      await f.waitFor(/third line/);
    } finally {
      await f.stop();
    }
  });

  it('2d. exec -i round-trips stdin and returns the exit code; a viewer is refused by the member', async () => {
    expect(await k('alice', ['exec', '-i', 'web', '--', 'cat'], 'ping through flotilla\n')).toMatchObject({ code: 0, stdout: 'ping through flotilla\n' });
    const exit3 = await k('alice', ['exec', 'web', '--', 'sh', '-c', 'exit 3']);
    expect(exit3.code).toBe(3);
    const viewer = await k('victor', ['--context', 'alpha', 'exec', 'web', '--', 'echo', 'hi']);
    expect(viewer.code).toBe(1);
    expect(viewer.stderr).toMatch(/User "flotilla:user:victor" cannot (create|get) resource "pods\/exec"/);
  });

  it('2e. port-forward carries bytes both ways', async () => {
    const pf = followOutput(await kubectlSpawn(['port-forward', 'pod/web', '0:8080'], { kubeconfig: kc.alice! }));
    try {
      const port = Number((await pf.waitFor(/Forwarding from 127\.0\.0\.1:(\d+) -> 8080/))![1]);
      const echoed = await new Promise<string>((resolve, reject) => {
        const s = connect(port, '127.0.0.1', () => s.write('hello member'));
        let got = '';
        s.on('data', (d) => {
          got += d.toString();
          if (got.length < 'hello member'.length) return;
          s.end();
          resolve(got);
        });
        s.on('error', reject);
      });
      expect(echoed).toBe('hello member');
    } finally {
      await pf.stop();
    }
  });

  it('2f. api-resources and explain', async () => {
    expect((await k('alice', ['api-resources'])).stdout).toMatch(/configmaps\s+cm\s+v1\s+true\s+ConfigMap/);
    const explained = await k('alice', ['explain', 'pods.spec']);
    expect(explained.stderr).toBe('');
    expect(explained.stdout).toMatch(/FIELD: spec <Object>[\s\S]*containers\s+<\[\]Object>/);
  });

  it('3. a viewer\'s delete is refused by the member (impersonation) and by Flotilla where impersonation is off', async () => {
    await admin(b).request('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'keep' } });
    const viaMember = await k('victor', ['--context', 'alpha', 'delete', 'configmap', 'from-member']);
    expect(viaMember.code).toBe(1);
    expect(viaMember.stderr).toContain('configmaps "from-member" is forbidden: User "flotilla:user:victor" cannot delete resource "configmaps" in API group "" in the namespace "default"');
    expect((await k('victor', ['--context', 'bravo', 'get', 'configmaps'])).stdout).toMatch(/keep/);
    const viaFlotilla = await k('victor', ['--context', 'bravo', 'delete', 'configmap', 'keep']);
    expect(viaFlotilla.code).toBe(1);
    expect(viaFlotilla.stderr).toMatch(/user "victor" \(cluster-viewer\) cannot delete configmaps in cluster "bravo"/);
    expect((await admin(b).request('GET', '/api/v1/namespaces/default/configmaps/keep')).status).toBe(200);
  });

  it('4. alice cannot act as system:masters; can-i answers per the member through the proxy and per Flotilla on its own API', async () => {
    for (const args of [['--as', 'system:masters'], ['--as', 'alice', '--as-group', 'system:masters']]) {
      const r = await k('alice', [...args, 'get', 'configmaps']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/forbidden|Forbidden/);
    }
    expect(answer(await k('alice', ['auth', 'can-i', 'delete', 'configmaps']))).toBe('yes');
    expect(answer(await k('alice', ['auth', 'can-i', 'delete', 'secrets', '-n', 'kube-system']))).toBe('yes');
    expect(answer(await k('victor', ['--context', 'alpha', 'auth', 'can-i', 'delete', 'configmaps']))).toBe('no');
    expect(answer(await k('alice', ['--context', 'flotilla', 'auth', 'can-i', 'get', 'clusters']))).toBe('no');
    expect(answer(await k('victor', ['--context', 'flotilla', 'auth', 'can-i', 'get', 'clusters']))).toBe('yes');
    expect(answer(await k('alice', ['--context', 'flotilla', 'auth', 'can-i', 'create', 'clusters/alpha', '--subresource=proxy']))).toBe('yes');
    expect(answer(await k('alice', ['--context', 'flotilla', 'auth', 'can-i', 'create', 'clusters/bravo', '--subresource=proxy']))).toBe('no');
  });

  it('the member sees impersonation headers and Flotilla\'s credential, never the caller\'s', () => {
    const callerHashes = new Set([...Object.values(secrets), platform.adminToken].map(sha256));
    const seen = a.requests();
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.filter((r) => r.bearerSha256 && callerHashes.has(r.bearerSha256))).toEqual([]);
    // Everyone but this test's own admin client (kubernetes-admin) is Flotilla's member identity.
    expect(new Set(seen.map((r) => r.authenticatedAs))).toEqual(new Set(['system:serviceaccount:flotilla-system:flotilla-host', 'kubernetes-admin']));
    const alice = seen.filter((r) => r.impersonateUser[0] === 'flotilla:user:alice');
    expect(alice.length).toBeGreaterThan(10);
    expect(new Set(alice.flatMap((r) => r.impersonateGroup))).toEqual(new Set(['flotilla:role:cluster-editor']));
    expect(seen.flatMap((r) => [...r.impersonateUser, ...r.impersonateGroup]).filter((n) => n.startsWith('system:'))).toEqual([]);
    expect(b.requests().filter((r) => r.impersonateUser.length > 0 || r.impersonateGroup.length > 0)).toEqual([]);
  });

  it('5. a revoked token is refused with 401 at once', async () => {
    expect((await k('alice', ['get', 'configmaps'])).code).toBe(0);
    expect((await call('DELETE', `${TOKENS}/${aliceTokenName}`)).status).toBe(200);
    const r = await k('alice', ['get', 'configmaps']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/You must be logged in to the server/);
  });

  it('6. an OIDC user bound by name as cluster-viewer may list and is refused delete', async () => {
    const res = await fetch(`${issuer.main}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: issuer.clientId, client_secret: issuer.clientSecret, resource: AUDIENCE, scope: 'api' }),
    });
    const jwt = ((await res.json()) as Json).access_token as string;
    secrets.oidc = jwt;
    const template = await call('GET', `${CLUSTERS}/alpha/kubeconfig`);
    expect(template.status).toBe(200);
    // The template lacks the gateway's CA (reported; see the next test): add it as POST's kubeconfig has it.
    const doc = parse(template.text) as Json;
    for (const c of doc.clusters) c.cluster['certificate-authority-data'] ??= Buffer.from(gatewayCa).toString('base64');
    kc.oidc = withToken(stringify(doc), jwt);
    expect(await k('oidc', ['get', 'configmaps'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/from-member/) });
    const del = await k('oidc', ['delete', 'configmap', 'from-member']);
    expect(del.code).toBe(1);
    expect(del.stderr).toContain(`User "flotilla:user:oidc:${issuer.clientId}" cannot delete resource "configmaps"`);
  });

  it('7b. a proxied request refused by Flotilla is recorded with its cluster too (?cluster= finds it)', async () => {
    const refused = ((await call('GET', '/apis/audit.flotilla.io/v1alpha1/events?user=alice&limit=1000')).json.items as Json[]).filter(
      (e) => e.responseStatus.code === 403 && e.requestURI.startsWith(`${CLUSTERS}/alpha/proxy/`),
    );
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.filter((e) => e.annotations?.['flotilla.io/cluster'] !== 'alpha').map((e) => e.requestURI)).toEqual([]);
  });

  it('4b. kubectl --context flotilla get clusters works for a fleet-viewer (discovery of Flotilla\'s own API)', async () => {
    const r = await k('victor', ['--context', 'flotilla', 'get', 'clusters']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/alpha[\s\S]*bravo/);
  });

  it('GET .../clusters/alpha/kubeconfig (the template for OIDC users) carries the gateway\'s CA, as POST\'s does', async () => {
    const doc = parse((await call('GET', `${CLUSTERS}/alpha/kubeconfig`)).text) as Json;
    for (const c of doc.clusters) expect(c.cluster['certificate-authority-data']).toBe(Buffer.from(gatewayCa).toString('base64'));
  });

  it('7. the audit log shows alice\'s steps, with no token or secret anywhere', async () => {
    const events = await eventually(async () => {
      const r = await call('GET', '/apis/audit.flotilla.io/v1alpha1/events?user=alice&limit=1000');
      expect(r.status).toBe(200);
      const items = r.json.items as Json[];
      const verbs = new Set(items.filter((e) => e.annotations?.['flotilla.io/cluster'] === 'alpha').map((e) => e.verb));
      for (const v of ['list', 'get', 'watch', 'patch', 'delete', 'exec', 'portforward', 'create']) expect(verbs).toContain(v);
      return { items, text: r.text };
    }, { timeoutMs: 15_000, intervalMs: 200 });
    const proxied = events.items.filter((e) => e.annotations?.['flotilla.io/cluster'] === 'alpha');
    expect(proxied.find((e) => e.verb === 'patch')).toMatchObject({ objectRef: { resource: 'configmaps', name: 'demo' }, responseStatus: { code: 201 } });
    expect(proxied.find((e) => e.verb === 'delete')).toMatchObject({ responseStatus: { code: 200 } });
    expect(proxied.find((e) => e.verb === 'exec')).toMatchObject({ responseStatus: { code: 101 } });
    // kubectl --as system:masters: refused by the proxy, and recorded.
    expect(events.items.some((e) => e.responseStatus.code === 403 && e.requestURI.startsWith(`${CLUSTERS}/alpha/proxy/`))).toBe(true);
    expect(events.items.find((e) => e.verb === 'create' && /\/clusters\/alpha\/kubeconfig$/.test(e.requestURI))).toMatchObject({ responseStatus: { code: 201 } });
    const all = (await call('GET', '/apis/audit.flotilla.io/v1alpha1/events?limit=1000')).text;
    for (const s of [...Object.values(secrets), platform.adminToken, a.tokens.admin, b.tokens.admin]) expect(all).not.toContain(s);
    expect(all).not.toMatch(/flt_[a-z0-9]+_/);
  });
});
