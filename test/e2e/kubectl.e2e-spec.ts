import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { parse, stringify } from 'yaml';
import { ClusterHandle, KubeEmulator, kubectl, kubectlSpawn, writeKubeconfig, followOutput } from '@flotilla/kube-emulator';
import { PlatformEnv, SourceProcess, columnsHolding, eventually, httpsCall, preparePlatformEnv, startSourceProcess } from '@flotilla/testing';

/**
 * Issue 16, "the verbs users type": a real kubectl v1.33 against a running platform (registry,
 * provider-import, health-probe and the gateway, each its own process; the gateway on HTTPS; real
 * Postgres and Redis), with the `flotilla` context of a kubeconfig Flotilla handed out to a user and
 * with the admin token. get -w, get -l -o yaml, label, annotate, edit, client-side and server-side
 * apply, delete, describe, api-resources and explain. No credential reaches kubectl's output, the editor's file,
 * the last-applied-configuration annotation or the database in plain text.
 */
type Json = Record<string, any>;
const CLUSTERS = '/apis/cluster.kubesphere.io/v1alpha1/clusters';
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

describe('issue 16: the verbs users type, with a real kubectl v1.33 against a running platform', () => {
  let platform: PlatformEnv;
  let emu: KubeEmulator;
  let members: ClusterHandle[];
  const procs: SourceProcess[] = [];
  let pg: Client;
  let ca = '';
  let work = '';
  /** Kubeconfigs: the admin token's, and the one Flotilla handed to the user `ops` (its `flotilla` context). */
  const kc: Record<'admin' | 'ops', string> = { admin: '', ops: '' };
  /** Every secret a member credential holds: none may appear in kubectl's output, the editor's file, annotations or the database. */
  const secrets: string[] = [];

  function call(method: string, path: string, body?: unknown, token = platform.adminToken) {
    return httpsCall({ base: platform.gatewayUrl, ca, token }, method, path, { body, timeoutMs: 15_000 });
  }
  const k = (who: 'admin' | 'ops', args: string[], options: { input?: string; env?: Record<string, string> } = {}) =>
    kubectl(who === 'ops' ? ['--context', 'flotilla', ...args] : args, { kubeconfig: kc[who], input: options.input, env: options.env, timeoutMs: 45_000 });
  const watch = async (who: 'admin' | 'ops', args: string[]) => followOutput(await kubectlSpawn(who === 'ops' ? ['--context', 'flotilla', ...args] : args, { kubeconfig: kc[who] }));
  const expectNoSecret = (text: string) => {
    for (const s of secrets) expect(text).not.toContain(s);
    expect(text).not.toMatch(/kubeconfig"?:/);
  };
  const clusterDoc = (name: string, c: ClusterHandle, labels: Record<string, string>) => ({
    apiVersion: 'cluster.kubesphere.io/v1alpha1',
    kind: 'Cluster',
    metadata: { name, labels, annotations: { 'import.flotilla.io/credentials': 'service-account' } },
    spec: { provider: 'kubeadm', connection: { type: 'direct', kubeconfig: c.kubeconfig('admin-token') } },
  });
  const ready = (name: string) =>
    eventually(async () => {
      const c = (await call('GET', `${CLUSTERS}/${name}`)).json;
      expect((c.status?.conditions ?? []).find((x: Json) => x.type === 'Ready')).toMatchObject({ status: 'True' });
    }, { timeoutMs: 60_000, intervalMs: 250 });

  beforeAll(async () => {
    emu = await KubeEmulator.start({ clusters: 0 });
    members = [
      await emu.addCluster({ flavour: 'kubeadm' }),
      await emu.addCluster({ flavour: 'kubeadm' }),
      await emu.addCluster({ flavour: 'kubeadm' }),
      await emu.addCluster({ flavour: 'kubeadm' }),
    ];
    for (const m of members) secrets.push(m.tokens.admin);
    platform = await preparePlatformEnv({ gatewayTls: true });
    ca = readFileSync(platform.gatewayTls!.ca, 'utf8');
    work = mkdtempSync(join(tmpdir(), 'flotilla-kubectl-e2e-'));
    procs.push(await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp));
    procs.push(
      ...(await Promise.all([
        startSourceProcess('provider-import', platform.env('provider-import'), platform.ports.importHttp),
        startSourceProcess('health-probe', { ...platform.env('health-probe'), PROBE_INTERVAL_MS: '1000' }, platform.ports.probeHttp),
        startSourceProcess('gateway', { ...platform.env('gateway'), FLOTILLA_FEED_POLL_MS: '100' }, platform.ports.gatewayHttp, { https: { ca: platform.gatewayTls!.ca } }),
      ])),
    );
    pg = new Client({ connectionString: platform.db.url });
    await pg.connect();
    kc.admin = writeKubeconfig(
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'flotilla', cluster: { server: platform.gatewayUrl, 'certificate-authority-data': Buffer.from(ca).toString('base64') } }],
        users: [{ name: 'admin', user: { token: platform.adminToken } }],
        contexts: [{ name: 'flotilla', context: { cluster: 'flotilla', user: 'admin' } }],
        'current-context': 'flotilla',
      }),
    );

    expect((await call('POST', CLUSTERS, clusterDoc('alpha', members[0]!, { env: 'prod' }))).status).toBe(201);
    expect((await call('POST', CLUSTERS, clusterDoc('bravo', members[1]!, { env: 'dev' }))).status).toBe(201);
    // A Flotilla user with a token and the fleet-admin role; the kubeconfig Flotilla hands out to it.
    const user = await call('POST', '/apis/iam.kubesphere.io/v1beta1/users', { apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'User', metadata: { name: 'ops' }, spec: { email: 'ops@example.com' } });
    expect(user.status).toBe(201);
    const token = await call('POST', '/apis/iam.flotilla.io/v1alpha1/tokens', { spec: { user: 'ops', description: 'kubectl e2e' } });
    expect(token.status).toBe(201);
    const grb = { metadata: { name: 'ops-fleet-admin' }, subjects: [{ kind: 'User', name: 'ops' }], roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name: 'fleet-admin' } };
    expect((await call('POST', '/apis/iam.kubesphere.io/v1beta1/globalrolebindings', grb)).status).toBe(201);
    await ready('alpha');
    await ready('bravo');
    const handed = await eventually(async () => {
      const r = await call('POST', '/apis/iam.flotilla.io/v1alpha1/kubeconfigs', { clusterSelector: { matchLabels: { env: 'prod' } } }, token.json.status.secret as string);
      expect(r.status).toBe(201);
      return r.text;
    }, { timeoutMs: 10_000, intervalMs: 200 });
    expect((parse(handed) as Json).contexts.map((c: Json) => c.name)).toContain('flotilla');
    kc.ops = writeKubeconfig(handed);
  }, 180_000);

  afterAll(async () => {
    await pg?.end();
    for (const p of procs.reverse()) await p.stop();
    await emu?.stop();
    await platform?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('kubectl get clusters -l env=prod -o yaml: only those, and no credential anywhere', async () => {
    for (const who of ['admin', 'ops'] as const) {
      const r = await k(who, ['get', 'clusters', '-l', 'env=prod', '-o', 'yaml']);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      const doc = parse(r.stdout) as Json;
      expect(doc.kind).toBe('List');
      expect(doc.items.map((c: Json) => c.metadata.name)).toEqual(['alpha']);
      expect(doc.items[0].spec.connection.type).toBe('direct');
      expectNoSecret(r.stdout);
    }
  });

  it('kubectl get clusters -w prints a row when a cluster changes; label, --overwrite and annotate', async () => {
    const w = await watch('ops', ['get', 'clusters', '-w']);
    try {
      await w.waitFor((out) => /^alpha\s+True/m.test(out) && /^bravo\s/m.test(out));
      const rows = () => (w.out().match(/^bravo\s/gm) ?? []).length;
      const before = rows();

      const labelled = await k('ops', ['label', 'cluster', 'bravo', 'tier=gold']);
      expect(labelled).toMatchObject({ code: 0, stdout: 'cluster.cluster.kubesphere.io/bravo labeled\n' });
      await w.waitFor(() => rows() > before);

      const again = await k('ops', ['label', 'cluster', 'bravo', 'tier=silver']);
      expect(again.code).not.toBe(0);
      expect(again.stderr).toMatch(/'tier' already has a value \(gold\), and --overwrite is false/);
      expect(await k('admin', ['label', 'cluster', 'bravo', 'tier=silver', '--overwrite'])).toMatchObject({ code: 0, stdout: 'cluster.cluster.kubesphere.io/bravo labeled\n' });
      expect((await call('GET', `${CLUSTERS}/bravo`)).json.metadata.labels).toMatchObject({ env: 'dev', tier: 'silver' });
      expect(await k('admin', ['label', 'cluster', 'bravo', 'tier-'])).toMatchObject({ code: 0, stdout: 'cluster.cluster.kubesphere.io/bravo unlabeled\n' });

      const annotated = await k('ops', ['annotate', 'cluster', 'bravo', 'owner=team-a']);
      expect(annotated).toMatchObject({ code: 0, stdout: 'cluster.cluster.kubesphere.io/bravo annotated\n' });
      expect(await k('ops', ['annotate', 'cluster', 'bravo', 'owner=team-b', '--overwrite'])).toMatchObject({ code: 0 });
      const bravo = (await call('GET', `${CLUSTERS}/bravo`)).json;
      expect(bravo.metadata.labels).toEqual({ env: 'dev', 'cluster.flotilla.io/member-uid': expect.any(String) });
      expect(bravo.metadata.annotations).toMatchObject({ owner: 'team-b' });
      expectNoSecret(w.out());
    } finally {
      await w.stop();
    }
  });

  it('kubectl edit cluster: the editor gets no credential; the change is sent as a merge patch', async () => {
    const seen = join(work, 'seen.yaml');
    const editor = join(work, 'editor.sh');
    writeFileSync(editor, `#!/bin/sh\ncp "$1" "${seen}"\nsed -i 's/^    env: prod$/    env: prod\\n    edited: "yes"/' "$1"\n`);
    chmodSync(editor, 0o755);
    const r = await k('ops', ['edit', 'cluster', 'alpha'], { env: { KUBE_EDITOR: editor } });
    expect(r).toMatchObject({ code: 0, stdout: 'cluster.cluster.kubesphere.io/alpha edited\n' });
    const file = readFileSync(seen, 'utf8');
    expect(file).toMatch(/^kind: Cluster$/m);
    expect(file).toMatch(/^    env: prod$/m);
    expectNoSecret(file);
    expect(file).not.toContain('users:');
    expect((await call('GET', `${CLUSTERS}/alpha`)).json.metadata.labels).toEqual({ env: 'prod', edited: 'yes', 'cluster.flotilla.io/member-uid': expect.any(String) });
  });

  it('kubectl apply -f cluster.yaml (client-side) twice: last-applied-configuration holds no credential, served or stored', async () => {
    const file = join(work, 'charlie.yaml');
    // The kubeconfig as given is the one stored (no service-account trade): resending it is no change.
    const doc = clusterDoc('charlie', members[2]!, { env: 'prod' });
    delete (doc.metadata as Json).annotations;
    writeFileSync(file, stringify(doc));
    const first = await k('admin', ['apply', '-f', file]);
    expect(first).toMatchObject({ code: 0, stdout: 'cluster.cluster.kubesphere.io/charlie created\n' });
    expect(first.stderr).toMatch(/Warning: .*last-applied-configuration.*removed spec\.connection\.kubeconfig/);
    await ready('charlie');
    const before = (await call('GET', `${CLUSTERS}/charlie`)).json.metadata;

    // kubectl cannot see the write-only credential in the live object, so its three-way patch resends
    // it (and the annotation): "configured" rather than "unchanged", and nothing changes.
    const second = await k('admin', ['apply', '-f', file]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^cluster\.cluster\.kubesphere\.io\/charlie (unchanged|configured)\n$/);
    const after = (await call('GET', `${CLUSTERS}/charlie`)).json.metadata;
    expect(after.generation).toBe(before.generation);
    expect(after.annotations[LAST_APPLIED]).toBe(before.annotations[LAST_APPLIED]);

    const shown = await k('admin', ['get', 'cluster', 'charlie', '-o', 'json']);
    expect(shown.code).toBe(0);
    expectNoSecret(shown.stdout);
    const lastApplied = JSON.parse((JSON.parse(shown.stdout) as Json).metadata.annotations[LAST_APPLIED]) as Json;
    expect(lastApplied).toMatchObject({ kind: 'Cluster', metadata: { name: 'charlie', labels: { env: 'prod' } }, spec: { connection: { type: 'direct' } } });
    expect(lastApplied.spec.connection.kubeconfig).toBeUndefined();
    expect(lastApplied.spec.connection.token).toBeUndefined();

    const stored = await pg.query<{ annotations: Record<string, string> }>('SELECT annotations FROM clusters WHERE name = $1', ['charlie']);
    expect(stored.rows[0]!.annotations[LAST_APPLIED]).toBeDefined();
    expectNoSecret(stored.rows[0]!.annotations[LAST_APPLIED]!);
    expect(stored.rows[0]!.annotations[LAST_APPLIED]).not.toContain('users');
    for (const s of secrets) expect((await columnsHolding(pg, s)).hits).toEqual([]);

    // The file without the credential (the cluster holds it now): after one apply that rewrites the
    // annotation as kubectl writes it, "unchanged".
    const bare = structuredClone(doc) as Json;
    delete bare.spec.connection.kubeconfig;
    writeFileSync(file, stringify(bare));
    expect((await k('admin', ['apply', '-f', file])).stdout).toMatch(/^cluster\.cluster\.kubesphere\.io\/charlie (unchanged|configured)\n$/);
    expect(await k('admin', ['apply', '-f', file])).toMatchObject({ code: 0, stdout: 'cluster.cluster.kubesphere.io/charlie unchanged\n', stderr: '' });

    // A changed file is applied.
    writeFileSync(file, stringify({ ...bare, metadata: { ...bare.metadata, labels: { env: 'prod', tier: 'gold' } } }));
    expect(await k('admin', ['apply', '-f', file])).toMatchObject({ code: 0, stdout: 'cluster.cluster.kubesphere.io/charlie configured\n' });
    expect((await call('GET', `${CLUSTERS}/charlie`)).json.metadata.labels).toMatchObject({ env: 'prod', tier: 'gold' });
  });

  it('kubectl apply --server-side: creates, re-applies, conflicts with kubectl label, --force-conflicts wins; managedFields shown, no credential', async () => {
    const file = join(work, 'delta.yaml');
    // The kubeconfig as given is the one stored (no service-account trade): resending it is no change.
    const doc = clusterDoc('delta', members[3]!, { env: 'ssa' });
    delete (doc.metadata as Json).annotations;
    writeFileSync(file, stringify(doc));
    const outputs: string[] = [];
    const run = async (who: 'admin' | 'ops', args: string[]) => {
      const r = await k(who, args);
      outputs.push(r.stdout, r.stderr);
      return r;
    };

    const created = await run('admin', ['apply', '--server-side', '-f', file]);
    expect(created).toMatchObject({ code: 0, stdout: 'cluster.cluster.kubesphere.io/delta serverside-applied\n' });
    await ready('delta');

    // A changed label: applied; kubectl owns it.
    writeFileSync(file, stringify({ ...doc, metadata: { ...doc.metadata, labels: { env: 'ssa', tier: 'gold' } } }));
    expect(await run('admin', ['apply', '--server-side', '-f', file])).toMatchObject({ code: 0, stdout: 'cluster.cluster.kubesphere.io/delta serverside-applied\n' });
    expect((await call('GET', `${CLUSTERS}/delta`)).json.metadata.labels).toMatchObject({ env: 'ssa', tier: 'gold' });

    // Another manager (kubectl label: "kubectl-label") changes that label and sets one of its own.
    expect(await run('ops', ['label', 'cluster', 'delta', 'tier=silver', 'owner=ops', '--overwrite'])).toMatchObject({ code: 0, stdout: 'cluster.cluster.kubesphere.io/delta labeled\n' });
    const conflict = await run('admin', ['apply', '--server-side', '-f', file]);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl-label" using cluster.kubesphere.io/v1alpha1: .metadata.labels.tier');
    expect((await call('GET', `${CLUSTERS}/delta`)).json.metadata.labels).toMatchObject({ tier: 'silver', owner: 'ops' });

    const forced = await run('admin', ['apply', '--server-side', '--force-conflicts', '-f', file]);
    expect(forced).toMatchObject({ code: 0, stdout: 'cluster.cluster.kubesphere.io/delta serverside-applied\n' });
    expect((await call('GET', `${CLUSTERS}/delta`)).json.metadata.labels).toMatchObject({ env: 'ssa', tier: 'gold', owner: 'ops' });

    // managedFields: hidden by default, shown with --show-managed-fields, both managers; paths only.
    const plain = await run('ops', ['get', 'cluster', 'delta', '-o', 'yaml']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toContain('managedFields');
    const shown = await run('ops', ['get', 'cluster', 'delta', '-o', 'yaml', '--show-managed-fields']);
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    const managed = (parse(shown.stdout) as Json).metadata.managedFields as Json[];
    expect(managed.map((e) => `${e.manager}/${e.operation}`).sort()).toEqual(['kubectl-label/Update', 'kubectl/Apply']);
    expect(managed.find((e) => e.manager === 'kubectl')!.fieldsV1['f:metadata']['f:labels']).toEqual({ 'f:env': {}, 'f:tier': {} });
    const byLabel = managed.find((e) => e.manager === 'kubectl-label')!.fieldsV1['f:metadata']['f:labels'];
    expect(byLabel['f:owner']).toEqual({});
    expect(byLabel['f:tier']).toBeUndefined();
    expect(shown.stdout).not.toMatch(/f:kubeconfig|f:token/);

    for (const text of outputs) expectNoSecret(text);
    const stored = await pg.query<{ managed_fields: unknown }>('SELECT managed_fields FROM clusters WHERE name = $1', ['delta']);
    expectNoSecret(JSON.stringify(stored.rows[0]!.managed_fields));
    for (const s of secrets) expect((await columnsHolding(pg, s)).hits).toEqual([]);
  });

  it('kubectl describe cluster shows the conditions and recent events (a member going down and back)', async () => {
    await members[1]!.down();
    await eventually(async () => {
      const c = (await call('GET', `${CLUSTERS}/bravo`)).json;
      expect((c.status?.conditions ?? []).find((x: Json) => x.type === 'Ready')).toMatchObject({ status: 'False' });
    }, { timeoutMs: 60_000, intervalMs: 250 });
    await members[1]!.up();
    await ready('bravo');
    const r = await eventually(async () => {
      const d = await k('ops', ['describe', 'cluster', 'bravo']);
      expect(d).toMatchObject({ code: 0, stderr: '' });
      expect(d.stdout).toMatch(/Events:\s*\n\s+Type\s+Reason\s+Age\s+From\s+Message\n[\s\S]*Warning\s+\S+\s+\S+\s+health-probe\s/);
      return d;
    }, { timeoutMs: 15_000, intervalMs: 500 });
    expect(r.stdout).toMatch(/^Name:\s+bravo$/m);
    expect(r.stdout).toMatch(/Conditions:[\s\S]*Type:\s+Ready/);
    expectNoSecret(r.stdout);
  });

  it('kubectl delete cluster: the watch sees it go', async () => {
    const w = await watch('admin', ['get', 'clusters', '-w', '--output-watch-events']);
    try {
      await w.waitFor((out) => /ADDED\s+charlie\s/.test(out));
      const r = await k('ops', ['delete', 'cluster', 'charlie']);
      expect(r).toMatchObject({ code: 0, stdout: 'cluster.cluster.kubesphere.io "charlie" deleted\n' });
      await w.waitFor((out) => /DELETED\s+charlie\s/.test(out), 30_000);
      expect((await call('GET', `${CLUSTERS}/charlie`)).status).toBe(404);
      const gone = await k('admin', ['get', 'cluster', 'charlie']);
      expect(gone.code).not.toBe(0);
      expect(gone.stderr).toContain('clusters.cluster.kubesphere.io "charlie" not found');
    } finally {
      await w.stop();
    }
  });

  it('kubectl api-resources and kubectl explain cluster.spec', async () => {
    const resources = await k('ops', ['api-resources']);
    expect(resources.code).toBe(0);
    expect(resources.stdout).toMatch(/^clusters\s+cluster\.kubesphere\.io\/v1alpha1\s+false\s+Cluster$/m);
    const explain = await k('ops', ['explain', 'cluster.spec']);
    expect(explain).toMatchObject({ code: 0, stderr: '' });
    expect(explain.stdout).toMatch(/^GROUP:\s+cluster\.kubesphere\.io$/m);
    expect(explain.stdout).toMatch(/^FIELD:\s+spec/m);
    expect(explain.stdout).toMatch(/^\s+connection\s+<Object>/m);
  });
});
