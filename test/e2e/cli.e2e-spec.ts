import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { ClusterHandle, KubeEmulator, kubectl } from '@flotilla/kube-emulator';
import { PlatformEnv, ServiceProcess, WORKSPACE_ROOT, eventually, httpsCall, makeDevPki, preparePlatformEnv, startServiceProcess } from '@flotilla/testing';

/**
 * Issue 16's CLI proof: the real `flotilla` binary (cli/bin/flotilla.js running the build in dist/)
 * against every service as its own process, the gateway serving HTTPS (kubectl sends tokens only
 * over TLS), with emulated members: login, import with progress to Ready, failed imports with their
 * fixes, get, kubeconfig and a real kubectl through the proxy, rotate, remove with its orphan report.
 */
type Json = Record<string, any>;
type Run = { code: number | null; stdout: string; stderr: string };
const BIN = join(WORKSPACE_ROOT, 'cli/bin/flotilla.js');

describe('the flotilla CLI against a running platform (issue 16)', () => {
  let platform: PlatformEnv;
  let emu: KubeEmulator;
  const procs: ServiceProcess[] = [];
  let gateway: ChildProcess | undefined;
  let base: string;
  let work: string;
  let ca: string;
  let aliceToken: string;
  const members: Record<string, ClusterHandle> = {};
  const file = (name: string, content: string) => {
    const p = join(work, name);
    writeFileSync(p, content, { mode: 0o600 });
    return p;
  };

  /** Runs the built CLI as a user would; `onStderr` sees its progress as it comes. */
  function flotilla(args: string[], options: { env?: Record<string, string>; input?: string; onStderr?: (text: string) => void } = {}): Promise<Run> {
    return new Promise((resolve) => {
      const env = { PATH: process.env.PATH, HOME: work, XDG_CONFIG_HOME: join(work, 'config'), ...options.env };
      const child = spawn(process.execPath, [BIN, ...args], { cwd: WORKSPACE_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        options.onStderr?.(stderr);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      child.stdin.end(options.input ?? '');
    });
  }

  /** A REST call as the admin, over HTTPS trusting the gateway's CA. */
  function admin(method: string, path: string, body?: unknown) {
    return httpsCall({ base, ca, token: platform.adminToken }, method, path, { body });
  }

  beforeAll(async () => {
    emu = await KubeEmulator.start({ clusters: 0 });
    members.alpha = await emu.addCluster({ flavour: 'kubeadm', nodes: [{ name: 'cp', zone: 'z-a', region: 'r-1' }, { name: 'w1', zone: 'z-b', region: 'r-1' }] });
    members.readonly = await emu.addCluster({ flavour: 'kubeadm' });
    members.flaky = await emu.addCluster({ flavour: 'kubeadm' });
    members.lost = await emu.addCluster({ flavour: 'kubeadm' });
    platform = await preparePlatformEnv();
    work = mkdtempSync(join(tmpdir(), 'flotilla-cli-e2e-'));
    makeDevPki(join(work, 'pki'), ['gateway']);
    ca = readFileSync(join(work, 'pki', 'ca.crt'), 'utf8');
    // The build npm start runs, which builds the CLI too (dist/cli).
    execFileSync(process.execPath, [join(WORKSPACE_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: WORKSPACE_ROOT, stdio: 'pipe' });
    execFileSync(process.execPath, [join(WORKSPACE_ROOT, 'node_modules/tsc-alias/dist/bin/index.js'), '-p', 'tsconfig.build.json'], { cwd: WORKSPACE_ROOT, stdio: 'pipe' });
    procs.push(await startServiceProcess('registry', platform.env('registry'), platform.ports.registryHttp));
    procs.push(
      ...(await Promise.all([
        startServiceProcess('provider-import', platform.env('provider-import'), platform.ports.importHttp),
        startServiceProcess('health-probe', platform.env('health-probe'), platform.ports.probeHttp),
      ])),
    );
    // The gateway serves HTTPS only (health too), so startServiceProcess's plain-http readiness check cannot serve it.
    const tls = { FLOTILLA_GATEWAY_TLS_CERT: join(work, 'pki/gateway.crt'), FLOTILLA_GATEWAY_TLS_KEY: join(work, 'pki/gateway.key'), FLOTILLA_GATEWAY_TLS_CA: join(work, 'pki/ca.crt') };
    gateway = spawn(process.execPath, [join(WORKSPACE_ROOT, 'dist/services/gateway/src/main.js')], {
      cwd: WORKSPACE_ROOT,
      env: { PATH: process.env.PATH, ...platform.env('gateway'), ...tls, FLOTILLA_FEED_POLL_MS: '100' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    base = `https://127.0.0.1:${platform.ports.gatewayHttp}`;
    await eventually(async () => expect((await admin('GET', '/apis/cluster.kubesphere.io/v1alpha1/clusters')).status).toBe(200), { timeoutMs: 30_000, intervalMs: 200 });

    // A user with fleet-admin (manage clusters) and member access everywhere, and a token for her.
    expect((await admin('POST', '/apis/iam.kubesphere.io/v1beta1/users', { apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'User', metadata: { name: 'alice' }, spec: { email: 'alice@example.com' } })).status).toBe(201);
    const grb = { metadata: { name: 'alice-admin' }, subjects: [{ kind: 'User', name: 'alice' }], roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name: 'fleet-admin' } };
    expect((await admin('POST', '/apis/iam.kubesphere.io/v1beta1/globalrolebindings', grb)).status).toBe(201);
    const cab = { metadata: { name: 'alice-everywhere' }, subjects: [{ kind: 'User', name: 'alice' }], role: 'cluster-admin', clusterSelector: {} };
    expect((await admin('POST', '/apis/iam.flotilla.io/v1alpha1/clusteraccessbindings', cab)).status).toBe(201);
    const token = await admin('POST', '/apis/iam.flotilla.io/v1alpha1/tokens', { spec: { user: 'alice', description: 'cli e2e' } });
    expect(token.status).toBe(201);
    aliceToken = token.json.status.secret as string;
  }, 240_000);

  afterAll(async () => {
    if (gateway && gateway.exitCode === null) {
      const exited = new Promise((r) => gateway!.once('exit', r));
      gateway.kill('SIGTERM');
      await exited;
    }
    for (const p of procs.reverse()) await p.stop();
    await emu?.stop();
    await platform?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('--help lists every command and the exit codes; npx flotilla resolves the project\'s own bin', async () => {
    const help = await flotilla(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['login', 'token', 'import', 'get', 'kubeconfig', 'rotate', 'remove']) expect(help.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(help.stdout).toMatch(/4 {2}unreachable/);
    expect((await flotilla(['import', '--help'])).stdout).toMatch(/--agent .*not built\s+yet/);
    expect((await flotilla(['login', '--help'])).stdout).toMatch(/--oidc-issuer <url>/);
    const npx = execFileSync('npx', ['--no-install', 'flotilla', '--version'], { cwd: WORKSPACE_ROOT, encoding: 'utf8', env: { ...process.env, npm_config_offline: 'true' } });
    expect(npx.trim()).toBe((JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'package.json'), 'utf8')) as Json).version);
    const usage = await flotilla(['get', 'clusters', '-o', 'xml']);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toMatch(/argument 'xml' is invalid/);
  });

  it('login: refuses a wrong token (nothing stored) and an untrusted certificate; stores 0600 in 0700; refuses a config others can read', async () => {
    expect(await flotilla(['get', 'clusters'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/not logged in: .*config\.json does not exist\n\s+run `flotilla login/) });
    const wrong = await flotilla(['login', '--server', base, '--token', 'flt_wrong', '--certificate-authority', join(work, 'pki/ca.crt')]);
    expect(wrong).toMatchObject({ code: 2, stderr: expect.stringMatching(/Error from server \(Unauthorized\)[\s\S]*log in again/) });
    expect(() => statSync(join(work, 'config/flotilla/config.json'))).toThrow();
    expect(await flotilla(['login', '--server', base, '--token', '-'], { input: aliceToken })).toMatchObject({ code: 4, stderr: expect.stringMatching(/cannot trust [\s\S]*--certificate-authority FILE/) });
    expect(await flotilla(['login', '--server', 'https://127.0.0.1:1', '--token', 'x'])).toMatchObject({ code: 4, stderr: expect.stringMatching(/cannot reach https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)/) });
    expect(await flotilla(['login', '--server', base, '--token', '-', '--certificate-authority', join(work, 'nope.crt')], { input: aliceToken })).toMatchObject({ code: 3, stderr: expect.stringMatching(/nope\.crt does not exist/) });

    const ok = await flotilla(['login', '--server', base, '--token', '-', '--certificate-authority', join(work, 'pki/ca.crt')], { input: aliceToken });
    expect(ok).toMatchObject({ code: 0, stdout: expect.stringMatching(/Logged in to https:\/\/127\.0\.0\.1:\d+ \(token accepted; you may list clusters\)/) });
    const path = join(work, 'config/flotilla/config.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(work, 'config/flotilla')).mode & 0o777).toBe(0o700);
    expect(ok.stdout + ok.stderr).not.toContain(aliceToken);
    chmodSync(path, 0o644);
    expect(await flotilla(['get', 'clusters'])).toMatchObject({ code: 2, stderr: expect.stringContaining(`fix: chmod 600 ${path}`) });
    chmodSync(path, 0o600);
    const credential = await flotilla(['token']);
    expect(JSON.parse(credential.stdout)).toEqual({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: aliceToken } });
  });

  it('import --dry-run runs the checks and writes nothing; import follows the job with progress to Ready', async () => {
    // A token kubeconfig traded for a lasting service-account one: the path on which Flotilla keeps member access (impersonation) in sync.
    const kc = file('alpha.kubeconfig', members.alpha!.kubeconfig('admin-token'));
    const dry = await flotilla(['import', 'alpha', '--kubeconfig', kc, '--service-account', '--dry-run']);
    expect(dry).toMatchObject({ code: 0, stdout: expect.stringMatching(/all import checks passed: .* runs v1\.30\.4 with 2 nodes \(dry run: nothing written\)/) });
    expect(await flotilla(['get', 'clusters', 'alpha'])).toMatchObject({ code: 3, stderr: expect.stringMatching(/Error from server \(NotFound\)/) });

    const run = await flotilla(['import', 'alpha', '--kubeconfig', kc, '--labels', 'env=dev,team=a', '--service-account']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/✓ alpha is Ready: kubeadm, v1\.30\.4, 2 nodes, zones z-a, z-b/);
    // Progress from the job's event stream: each step with the job's percent, in order, to 100 %.
    const steps = [...run.stderr.matchAll(/^\s*(\d+)% (\S) (\w+)/gm)].map((m) => ({ percent: Number(m[1]), mark: m[2], step: m[3] }));
    expect(steps.map((s) => s.step)).toEqual(expect.arrayContaining(['KubeconfigParses', 'CredentialsAuthorize', 'NameFree', 'RetrieveLastingKubeconfig', 'WriteMarker']));
    expect(steps.find((s) => s.step === 'NameFree')!.mark).toBe('-');
    expect(steps.map((s) => s.percent)).toEqual([...steps.map((s) => s.percent)].sort((a, b) => a - b));
    expect(run.stderr).toMatch(/! .*private or loopback/);
    expect(run.stdout + run.stderr).not.toContain(members.alpha!.tokens.admin);
  }, 90_000);

  it('a failed import shows the failed check and its fix: at validation (exit 2, nothing created) and in the job (exit 5)', async () => {
    const ro = await flotilla(['import', 'ro', '--kubeconfig', file('ro.kubeconfig', members.readonly!.kubeconfig('readonly'))]);
    expect(ro.code).toBe(2);
    expect(ro.stderr).toMatch(/✗ import checks failed: spec\.connection\.kubeconfig: CredentialsAuthorize: .*lacks permissions Flotilla needs/);
    expect(ro.stderr).toMatch(/missing permission: create namespaces \(cluster-wide\)/);
    expect((await admin('GET', '/apis/cluster.kubesphere.io/v1alpha1/clusters/ro')).status).toBe(404);

    // The member breaks between the CLI's validation and the import job: the job fails at VersionAnswers.
    let broken = false;
    const flaky = await flotilla(['import', 'flaky', '--kubeconfig', file('flaky.kubeconfig', members.flaky!.kubeconfig('admin'))], {
      onStderr: (text) => {
        if (!broken && text.includes('all import checks passed')) {
          broken = true;
          members.flaky!.setErrorRate({ regex: /^\/version$/, rate: 1, code: 500 });
        }
      },
    });
    expect(flaky.code).toBe(5);
    expect(flaky.stderr).toMatch(/✗ VersionAnswers/);
    expect(flaky.stderr).toMatch(/error: import of flaky failed \(VersionAnswersFailed\): spec\.connection\.kubeconfig: VersionAnswers: \/version answered 500/);
    expect(flaky.stderr).toMatch(/fix the cause .*--dry-run.* then `flotilla remove flaky` and import again/);
    members.flaky!.clearErrors();
    // The job finishes before the cluster's conditions are written: the table below shows them.
    await eventually(async () => {
      const c = (await admin('GET', '/apis/cluster.kubesphere.io/v1alpha1/clusters/flaky')).json;
      expect((c.status.conditions as Json[]).find((x) => x.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ImportFailed' });
    });
  }, 90_000);

  it('get clusters: the table, -o wide, -l, -o json|yaml, colours only when asked or on a terminal', async () => {
    const table = await flotilla(['get', 'clusters']);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+READY\s+PROVIDER\s+VERSION\s+NODES\s+AGE$/);
    expect(lines).toEqual(expect.arrayContaining([expect.stringMatching(/^alpha\s+True\s+kubeadm\s+v1\.30\.4\s+2\s+\d+s$/), expect.stringMatching(/^flaky\s+False\s+/)]));
    expect(table.stdout).not.toContain('\u001b[');
    const wide = await flotilla(['get', 'clusters', '-o', 'wide']);
    expect(wide.stdout).toMatch(/REASON\s+ZONES/);
    expect(wide.stdout).toMatch(/flaky\s+False\s+.*ImportFailed/);
    expect((await flotilla(['get', 'clusters', '-l', 'env=dev'])).stdout.trim().split('\n').slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['alpha']);
    const json = JSON.parse((await flotilla(['get', 'clusters', '-o', 'json'])).stdout) as Json;
    expect(json).toMatchObject({ kind: 'ClusterList' });
    expect(json.items.map((c: Json) => c.metadata.name)).toEqual(['alpha', 'flaky']);
    expect((parse((await flotilla(['get', 'clusters', 'alpha', '-o', 'yaml'])).stdout) as Json).status.nodeCount).toBe(2);
    expect((await flotilla(['get', 'clusters'], { env: { FORCE_COLOR: '1' } })).stdout).toMatch(/\u001b\[32mTrue/);
    expect((await flotilla(['get', 'clusters'], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } })).stdout).not.toContain('\u001b[');
    expect(await flotilla(['get', 'clusters', '-l', 'env in (']).then((r) => r.code)).toBe(2);
  });

  it('kubeconfig: one context per member through the proxy; a real kubectl lists the member\'s namespaces with it; --merge keeps your context', async () => {
    const out = join(work, 'fleet.kubeconfig');
    const wrote = await flotilla(['kubeconfig', 'alpha', '-o', out]);
    expect(wrote).toMatchObject({ code: 0, stderr: expect.stringMatching(/wrote .*fleet\.kubeconfig \(mode 0600\); its token is \S+/) });
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const doc = parse(readFileSync(out, 'utf8')) as Json;
    expect(doc.contexts.map((c: Json) => c.name)).toEqual(['alpha', 'flotilla']);
    expect(doc.clusters[0].cluster.server).toBe(`${base}/apis/cluster.kubesphere.io/v1alpha1/clusters/alpha/proxy`);
    await eventually(async () => {
      const ns = await kubectl(['get', 'ns'], { kubeconfig: out });
      expect(ns).toMatchObject({ stderr: '', code: 0, stdout: expect.stringMatching(/kube-system\s+Active/) });
    }, { timeoutMs: 20_000, intervalMs: 250 });

    const mine = file('mine.kubeconfig', stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'home', cluster: { server: 'https://10.0.0.1' } }], users: [{ name: 'alice', user: { token: 'other' } }], contexts: [{ name: 'home', context: { cluster: 'home', user: 'alice' } }], 'current-context': 'home' }));
    const merged = await flotilla(['kubeconfig', '-l', 'env=dev', '--merge', mine]);
    expect(merged).toMatchObject({ code: 0, stderr: expect.stringMatching(/merged 2 contexts into .*mine\.kubeconfig \(current-context: home\)/) });
    const after = parse(readFileSync(mine, 'utf8')) as Json;
    expect(after.contexts.map((c: Json) => c.name)).toEqual(['home', 'alpha', 'flotilla']);
    expect(after.users.find((u: Json) => u.name === 'alice').user.token).toBe('other');
    expect((await kubectl(['--context', 'alpha', 'get', 'ns', 'default'], { kubeconfig: mine })).code).toBe(0);
    expect(await flotilla(['kubeconfig', 'nope'])).toMatchObject({ code: 3 });
  }, 60_000);

  it('rotate: same member accepted, another member refused with the reason (exit 2)', async () => {
    const same = await flotilla(['rotate', 'alpha', '--kubeconfig', file('alpha-token.kubeconfig', members.alpha!.kubeconfig('admin-token'))]);
    expect(same).toMatchObject({ code: 0, stdout: expect.stringMatching(/✓ credentials of alpha rotated/) });
    const other = await flotilla(['rotate', 'alpha', '--kubeconfig', file('lost.kubeconfig', members.lost!.kubeconfig('admin'))]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/rotation of alpha refused: .*(same|another|different)/);
    expect(other.stderr).toMatch(/the credentials in use are unchanged/);
    expect(await flotilla(['rotate', 'alpha', '--kubeconfig', join(work, 'missing.kubeconfig')])).toMatchObject({ code: 3, stderr: expect.stringMatching(/missing\.kubeconfig does not exist/) });
  });

  it('remove: follows the removal to the end; --force on a lost member reports the orphans', async () => {
    const removed = await flotilla(['remove', 'alpha']);
    expect(removed).toMatchObject({ code: 0, stdout: '✓ alpha removed\n' });
    expect(removed.stderr).toMatch(/Removing alpha/);
    expect((await admin('GET', '/apis/cluster.kubesphere.io/v1alpha1/clusters/alpha')).status).toBe(404);

    expect((await flotilla(['import', 'lost', '--kubeconfig', join(work, 'lost.kubeconfig')])).code).toBe(0);
    await members.lost!.down();
    const forced = await flotilla(['remove', 'lost', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/^✓ lost removed\n! left in the member .*\n/);
    expect(forced.stdout).toMatch(/^ {2}Namespace flotilla-system: .*forced/m);
    const jobs = await admin('GET', '/apis/cluster.kubesphere.io/v1alpha1/clusters/lost/jobs');
    const job = (jobs.json.items as Json[]).find((j) => j.spec.type === 'remove')!;
    expect(job.status.orphans.length).toBe(forced.stdout.trim().split('\n').length - 2);
    expect(await flotilla(['remove', 'lost'])).toMatchObject({ code: 3 });
    expect(await flotilla(['remove', 'flaky'])).toMatchObject({ code: 0 });
  }, 90_000);
});
