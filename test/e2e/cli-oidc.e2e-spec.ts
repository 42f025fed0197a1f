import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { kubectl } from '@flotilla/kube-emulator';
import { PlatformEnv, ServiceProcess, WORKSPACE_ROOT, eventually, preparePlatformEnv, startPlatformProcesses } from '@flotilla/testing';

/**
 * Issue 16's OIDC path of the CLI: the real `flotilla` binary against a real OpenID provider
 * (oidc-provider in a child process, the device flow approved through its pages as a user would in
 * a browser) and a running platform whose gateway trusts that issuer: login (device flow), token
 * (ExecCredential), a real kubectl whose kubeconfig runs `flotilla token` as its exec plugin, the
 * refresh of an ID token about to expire, and the errors that name their fix. Then the browser
 * login (--browser: authorization code + PKCE, the provider's redirect to the CLI's loopback
 * listener followed by the same scripted browser): state, nonce, a denial, the timeout.
 */
type Json = Record<string, any>;
type Run = { code: number | null; stdout: string; stderr: string };
interface Fixture { main: string; other: string; deviceClientId: string; user: { login: string; password: string } }
const BIN = join(WORKSPACE_ROOT, 'cli/bin/flotilla.js');
const FIXTURE = join(WORKSPACE_ROOT, 'services/gateway/src/auth/testing/oidc-provider-fixture.mjs');
/** Born 70 s from expiry: fresh right after login, due for refresh (within 60 s of exp) ten seconds later. */
const ID_TOKEN_TTL = 70;
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Json;

async function startFixture(env: Record<string, string>): Promise<{ child: ChildProcess; fx: Fixture }> {
  const child = spawn(process.execPath, [FIXTURE], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
  const fx = await new Promise<Fixture>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))) as Fixture);
    });
    child.once('exit', (code) => reject(new Error(`the OIDC provider fixture exited (${code})`)));
  });
  return { child, fx };
}

/** A user's browser: follows redirects, keeps cookies, and submits the forms of the provider's pages. */
class Browser {
  private cookies = new Map<string, string>();
  url = '';
  html = '';

  async go(url: string, form?: Record<string, string>): Promise<this> {
    let next: string | undefined = url;
    let body = form ? new URLSearchParams(form).toString() : undefined;
    for (let hops = 0; next && hops < 20; hops++) {
      const headers: Record<string, string> = { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
      if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
      const res = await fetch(next, { method: body === undefined ? 'GET' : 'POST', headers, body, redirect: 'manual' });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(';');
        const at = pair!.indexOf('=');
        const [name, value] = [pair!.slice(0, at).trim(), pair!.slice(at + 1)];
        if (value === '' || /expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(name);
        else this.cookies.set(name, value);
      }
      this.url = next;
      this.html = await res.text();
      const location = res.headers.get('location');
      next = res.status >= 300 && res.status < 400 && location ? new URL(location, next).toString() : undefined;
      body = undefined;
    }
    return this;
  }

  /** Submits a form of the current page (by id, else the first) with its hidden fields and the user's input. */
  submit(id: string | undefined, input: Record<string, string> = {}): Promise<this> {
    const forms = [...this.html.matchAll(/<form([^>]*)>([\s\S]*?)<\/form>/g)];
    const form = forms.find((f) => (id ? f[1]!.includes(`id="${id}"`) : true));
    if (!form) throw new Error(`no form ${id ?? ''} on ${this.url}: ${this.html.slice(0, 500)}`);
    const action = /action="([^"]*)"/.exec(form[1]!)![1]!.replace(/&amp;/g, '&');
    const fields: Record<string, string> = {};
    for (const m of form[2]!.matchAll(/<input[^>]*type="hidden"[^>]*>/g)) fields[/name="([^"]*)"/.exec(m[0])![1]!] = (/value="([^"]*)"/.exec(m[0])?.[1] ?? '').replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
    return this.go(new URL(action, this.url).toString(), { ...fields, ...input });
  }
}

/** What a user does with the URL and code the CLI shows: enter the code, confirm, sign in, allow (or deny). */
async function approve(fx: Fixture, shown: string, answer: 'allow' | 'deny' = 'allow'): Promise<string> {
  const [, url, code] = /open (\S+) and enter the code (\S+)/.exec(shown)!;
  const b = await new Browser().go(url!);
  await b.submit('op.deviceInputForm', { user_code: code! });
  await b.submit('op.deviceConfirmForm');
  await b.submit('login', { login: fx.user.login, password: fx.user.password });
  await b.submit(answer === 'allow' ? 'confirm' : 'deny');
  return b.html;
}

/** The browser flow: sign in and allow (or deny) from the URL the CLI shows; the last redirect lands on the CLI's loopback listener. */
async function signIn(fx: Fixture, authUrl: string, answer: 'allow' | 'deny' = 'allow'): Promise<Browser> {
  const b = await new Browser().go(authUrl);
  await b.submit('login', { login: fx.user.login, password: fx.user.password });
  return b.submit(answer === 'allow' ? 'confirm' : 'deny');
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

describe('flotilla login --oidc-issuer (device flow, and --browser) and flotilla token (refresh) against a real provider (issue 16)', () => {
  let platform: PlatformEnv;
  let services: ServiceProcess[] = [];
  let provider: { child: ChildProcess; fx: Fixture };
  let fx: Fixture;
  let work: string;
  const config = () => join(work, 'config', 'flotilla', 'config.json');
  const stored = () => JSON.parse(readFileSync(config(), 'utf8')) as Json;

  function flotilla(args: string[], onStderr?: (text: string) => void): Promise<Run> {
    return new Promise((resolve) => {
      const env = { PATH: process.env.PATH!, HOME: work, XDG_CONFIG_HOME: join(work, 'config') };
      const child = spawn(process.execPath, [BIN, ...args], { cwd: WORKSPACE_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        onStderr?.(stderr);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** `flotilla login` through the device flow, the user approving (or denying) as soon as the code shows. */
  async function deviceLogin(issuer: string, answer: 'allow' | 'deny' | 'wait' = 'allow'): Promise<Run & { page?: string }> {
    let approval: Promise<string> | undefined;
    const args = ['login', '--server', platform.gatewayUrl, '--certificate-authority', platform.gatewayTls!.ca, '--oidc-issuer', issuer, '--oidc-client-id', fx.deviceClientId, '--oidc-scopes', 'openid,offline_access,email,groups'];
    const run = await flotilla(args, (text) => {
      if (!approval && answer !== 'wait' && /enter the code \S+\n/.test(text)) approval = approve(fx, text, answer);
    });
    return { ...run, page: approval ? await approval : undefined };
  }

  /**
   * `flotilla login --browser --no-open`: once the CLI prints the sign-in URL, `act` plays the
   * user's browser with it (its result comes back as `acted`).
   */
  async function browserLogin<T>(issuer: string, act: (authUrl: string) => Promise<T>, extra: string[] = []): Promise<Run & { authUrl?: URL; acted?: T }> {
    let acting: Promise<T> | undefined;
    let authUrl: URL | undefined;
    const args = ['login', '--server', platform.gatewayUrl, '--certificate-authority', platform.gatewayTls!.ca, '--oidc-issuer', issuer, '--oidc-client-id', fx.deviceClientId, '--oidc-scopes', 'openid,offline_access,email,groups', '--browser', '--no-open', ...extra];
    const run = await flotilla(args, (text) => {
      const shown = /open this URL in a browser on this machine:\n {2}(\S+)\n/.exec(text);
      if (!acting && shown) {
        authUrl = new URL(shown[1]!);
        acting = act(shown[1]!);
        acting.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
      }
    });
    return { ...run, authUrl, acted: acting ? await acting : undefined };
  }

  function admin(method: string, path: string, body?: unknown): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(`${platform.gatewayUrl}${path}`, { method, ca: readFileSync(platform.gatewayTls!.ca), headers: { authorization: `Bearer ${platform.adminToken}`, 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /** A kubeconfig for Flotilla's own API whose user runs `flotilla token` (the exec plugin). */
  function execKubeconfig(): string {
    const p = join(work, 'oidc.kubeconfig');
    const exec = { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [BIN, 'token'], env: [{ name: 'XDG_CONFIG_HOME', value: join(work, 'config') }], interactiveMode: 'Never' };
    const ca = readFileSync(platform.gatewayTls!.ca).toString('base64');
    writeFileSync(p, stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'flotilla', cluster: { server: platform.gatewayUrl, 'certificate-authority-data': ca } }], users: [{ name: 'oidc', user: { exec } }], contexts: [{ name: 'flotilla', context: { cluster: 'flotilla', user: 'oidc' } }], 'current-context': 'flotilla' }), { mode: 0o600 });
    return p;
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'flotilla-cli-oidc-'));
    provider = await startFixture({ OIDC_FIXTURE_ID_TOKEN_TTL: String(ID_TOKEN_TTL) });
    fx = provider.fx;
    platform = await preparePlatformEnv({ gatewayTls: true });
    const oidc = { FLOTILLA_OIDC_ISSUER_URL: fx.main, FLOTILLA_OIDC_AUDIENCE: fx.deviceClientId, FLOTILLA_OIDC_USERNAME_CLAIM: 'email', FLOTILLA_OIDC_ALLOW_HTTP_ISSUER: 'true' };
    services = Object.values(await startPlatformProcesses(platform, { gateway: oidc }));
    // Bob, as the identity provider names him (oidc:<email>), may view the fleet.
    const grb = { metadata: { name: 'bob-views' }, subjects: [{ kind: 'User', name: 'oidc:bob@example.com' }], roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name: 'fleet-viewer' } };
    expect(await admin('POST', '/apis/iam.kubesphere.io/v1beta1/globalrolebindings', grb)).toBe(201);
  }, 240_000);

  afterAll(async () => {
    for (const s of services.reverse()) await s.stop();
    if (provider?.child.exitCode === null) provider.child.kill('SIGTERM');
    await platform?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('login: shows the URL and code, honours interval and slow_down, stores the ID and refresh tokens 0600', async () => {
    expect((await flotilla(['login', '--help'])).stdout).toMatch(/--oidc-issuer <url>[\s\S]*--oidc-client-id <id>[\s\S]*--oidc-scopes/);
    const run = await deviceLogin(fx.main);
    expect(run).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`Logged in to ${platform.gatewayUrl} through ${fx.main} \\(ID token accepted; you may list clusters\\)`)) });
    expect(run.stderr).toMatch(new RegExp(`To sign in, open ${fx.main}/device and enter the code [A-Z]{4}-[A-Z]{4}`));
    expect(run.page).toContain('Sign-in Success');
    const doc = stored();
    expect(doc.oidc).toMatchObject({ issuer: fx.main, clientId: fx.deviceClientId, scopes: ['openid', 'offline_access', 'email', 'groups'], refreshToken: expect.any(String) });
    expect(claimsOf(doc.token)).toMatchObject({ iss: fx.main, aud: fx.deviceClientId, email: 'bob@example.com' });
    expect(statSync(config()).mode & 0o777).toBe(0o600);
    expect(run.stdout + run.stderr).not.toContain(doc.token);
    expect(run.stdout + run.stderr).not.toContain(doc.oidc.refreshToken);
    // The provider answered the first poll with slow_down; the CLI then waited the longer interval every time.
    const polls = (await (await fetch(`${fx.main}/fixture/device-polls`)).json()) as Json;
    expect(polls).toMatchObject({ tooEarly: 0 });
    expect(polls.slowDowns).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it('token prints an ExecCredential with the fresh ID token; kubectl with `flotilla token` as exec plugin gets clusters as oidc:bob@example.com', async () => {
    const { token } = stored();
    const credential = await flotilla(['token']);
    expect(credential.code).toBe(0);
    const exp = claimsOf(token as string).exp as number;
    expect(JSON.parse(credential.stdout)).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      kind: 'ExecCredential',
      status: { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace('.000Z', 'Z') },
    });
    const kc = execKubeconfig();
    expect(await kubectl(['get', 'clusters'], { kubeconfig: kc })).toMatchObject({ code: 0, stderr: expect.stringContaining('No resources found') });
    expect(await kubectl(['auth', 'can-i', 'list', 'clusters'], { kubeconfig: kc })).toMatchObject({ code: 0, stdout: 'yes\n' });
    expect((await kubectl(['auth', 'can-i', 'delete', 'clusters'], { kubeconfig: kc })).stdout).toMatch(/^no\b/);
    // The same kubeconfig with a token that is not the provider's is refused: the exec plugin is what works.
    const forged = readFileSync(kc, 'utf8').replace(/exec:[\s\S]*?interactiveMode: Never\n/, `token: ${token.slice(0, -4)}AAAA\n`);
    writeFileSync(join(work, 'forged.kubeconfig'), forged, { mode: 0o600 });
    expect((await kubectl(['get', 'clusters'], { kubeconfig: join(work, 'forged.kubeconfig') })).code).not.toBe(0);
  }, 60_000);

  it('token refreshes an ID token that expires within 60 s, once for kubectl\'s concurrent calls, and saves the new tokens', async () => {
    const before = stored();
    const exp = claimsOf(before.token as string).exp as number;
    await eventually(() => expect(Date.now() / 1000).toBeGreaterThan(exp - 59), { timeoutMs: 20_000, intervalMs: 250 });
    const runs = await Promise.all([1, 2, 3, 4].map(() => flotilla(['token'])));
    for (const r of runs) expect(r).toMatchObject({ code: 0, stderr: '' });
    const tokens = new Set(runs.map((r) => (JSON.parse(r.stdout) as Json).status.token as string));
    expect(tokens.size).toBe(1);
    const after = stored();
    expect([...tokens][0]).toBe(after.token);
    expect(after.token).not.toBe(before.token);
    expect(claimsOf(after.token as string).exp).toBeGreaterThan(exp);
    expect(after.oidc.refreshToken).not.toBe(before.oidc.refreshToken); // rotated by the provider (a public client)
    expect(statSync(config()).mode & 0o777).toBe(0o600);
    expect(await kubectl(['get', 'clusters'], { kubeconfig: execKubeconfig() })).toMatchObject({ code: 0 });
    // A session the provider ended (here: a refresh token it never issued) names the fix; the login file stays.
    writeFileSync(config(), JSON.stringify({ ...after, token: before.token, oidc: { ...after.oidc, refreshToken: 'not-a-refresh-token' } }), { mode: 0o600 });
    const ended = await flotilla(['token']);
    expect(ended).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(/your OIDC session has ended[\s\S]*invalid_grant[\s\S]*run `flotilla login --server .* --oidc-issuer .* --oidc-client-id flotilla-cli` again/) });
    expect(ended.stderr).not.toContain('not-a-refresh-token');
  }, 60_000);

  it('errors name the fix: access denied, an expired device code, an unreachable issuer, an issuer the gateway does not trust', async () => {
    const denied = await deviceLogin(fx.main, 'deny');
    expect(denied).toMatchObject({ code: 2, stderr: expect.stringMatching(/access denied: the sign-in was refused at the identity provider[\s\S]*run `flotilla login .*` again and approve the request/) });

    const short = await startFixture({ OIDC_FIXTURE_DEVICE_CODE_TTL: '3' });
    try {
      const expired = await deviceLogin(short.fx.main, 'wait');
      expect(expired).toMatchObject({ code: 2, stderr: expect.stringMatching(/the device code expired before the sign-in was approved[\s\S]*run `flotilla login .*` again and approve the code within 3 s/) });
    } finally {
      short.child.kill('SIGTERM');
    }

    const closed = await freePort();
    const unreachable = await flotilla(['login', '--server', platform.gatewayUrl, '--oidc-issuer', `http://127.0.0.1:${closed}`, '--oidc-client-id', 'flotilla-cli']);
    expect(unreachable).toMatchObject({ code: 4, stderr: expect.stringContaining(`cannot reach the OIDC issuer at http://127.0.0.1:${closed} (ECONNREFUSED)\n  check --oidc-issuer`) });
    expect(await flotilla(['login', '--server', platform.gatewayUrl, '--oidc-issuer', 'http://idp.example.com', '--oidc-client-id', 'x'])).toMatchObject({ code: 1, stderr: expect.stringContaining('must be an https:// URL') });
    expect(await flotilla(['login', '--server', platform.gatewayUrl, '--oidc-issuer', fx.main])).toMatchObject({ code: 1, stderr: expect.stringContaining('OIDC login needs --oidc-client-id') });

    const before = readFileSync(config(), 'utf8');
    const untrusted = await deviceLogin(fx.other);
    expect(untrusted).toMatchObject({ code: 2, stderr: expect.stringMatching(/refused the OIDC ID token[\s\S]*FLOTILLA_OIDC_ISSUER_URL=http:\/\/127\.0\.0\.1:\d+ and FLOTILLA_OIDC_AUDIENCE=flotilla-cli \(nothing was stored\)/) });
    expect(readFileSync(config(), 'utf8')).toBe(before);
  }, 120_000);
  it('login --browser: authorization code with PKCE (S256) on a loopback redirect, state and nonce checked; a wrong state is refused; token and kubectl work as oidc:bob@example.com; refresh afterwards', async () => {
    expect((await flotilla(['login', '--help'])).stdout).toMatch(/--browser[\s\S]*--device[\s\S]*--listen-port <port>[\s\S]*--no-open/);
    const before = stored();
    const run = await browserLogin(fx.main, async (url) => {
      const redirect = new URL(new URL(url).searchParams.get('redirect_uri')!);
      // Not this login's redirect (another tab, a forged link): refused, and the CLI keeps waiting.
      const forged = await fetch(`${redirect.toString()}?code=forged&state=not-this-login`);
      const missing = await fetch(`${redirect.toString()}?code=forged`);
      const elsewhere = await fetch(new URL('/favicon.ico', redirect));
      const b = await signIn(fx, url);
      return { forged: { status: forged.status, text: await forged.text() }, missing: missing.status, elsewhere: elsewhere.status, page: b.html };
    });
    expect(run).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`Logged in to ${platform.gatewayUrl} through ${fx.main} \\(ID token accepted; you may list clusters\\)`)) });
    expect(run.acted).toMatchObject({ forged: { status: 400, text: expect.stringContaining('its state does not match') }, missing: 400, elsewhere: 404, page: expect.stringContaining('You can close this tab') });
    expect(run.stderr).toContain("refused a request to the redirect URI whose state is not this login's");
    expect(run.stderr).not.toMatch(/Warning|\n\s+at /); // loading jose (an ES module) warns of nothing; no stack trace
    // The request the CLI built: PKCE S256, a fresh state and nonce, a loopback redirect on a free port.
    const q = run.authUrl!.searchParams;
    expect(`${run.authUrl!.origin}${run.authUrl!.pathname}`).toBe(`${fx.main}/auth`);
    expect(Object.fromEntries(q)).toMatchObject({ response_type: 'code', client_id: fx.deviceClientId, scope: 'openid offline_access email groups', code_challenge_method: 'S256', prompt: 'consent' });
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    const doc = stored();
    expect(doc.token).not.toBe(before.token);
    expect(doc.oidc).toMatchObject({ issuer: fx.main, clientId: fx.deviceClientId, scopes: ['openid', 'offline_access', 'email', 'groups'], refreshToken: expect.any(String) });
    expect(claimsOf(doc.token)).toMatchObject({ iss: fx.main, aud: fx.deviceClientId, email: 'bob@example.com', nonce: q.get('nonce') });
    expect(statSync(config()).mode & 0o777).toBe(0o600);
    for (const secret of [doc.token, doc.oidc.refreshToken]) expect(run.stdout + run.stderr).not.toContain(secret);
    // One shot: the listener is gone once the login ended.
    await expect(fetch(q.get('redirect_uri')!)).rejects.toThrow();

    const credential = await flotilla(['token']);
    expect(credential.code).toBe(0);
    expect(JSON.parse(credential.stdout)).toMatchObject({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: doc.token } });
    const kc = execKubeconfig();
    expect(await kubectl(['get', 'clusters'], { kubeconfig: kc })).toMatchObject({ code: 0, stderr: expect.stringContaining('No resources found') });
    expect(await kubectl(['auth', 'can-i', 'list', 'clusters'], { kubeconfig: kc })).toMatchObject({ code: 0, stdout: 'yes\n' });
    expect((await kubectl(['auth', 'can-i', 'delete', 'clusters'], { kubeconfig: kc })).stdout).toMatch(/^no\b/);

    // The refresh token from the browser login works as the device flow's does.
    const exp = claimsOf(doc.token as string).exp as number;
    await eventually(() => expect(Date.now() / 1000).toBeGreaterThan(exp - 59), { timeoutMs: 20_000, intervalMs: 250 });
    const refreshed = await flotilla(['token']);
    expect(refreshed).toMatchObject({ code: 0, stderr: '' });
    const after = stored();
    expect((JSON.parse(refreshed.stdout) as Json).status.token).toBe(after.token);
    expect(claimsOf(after.token as string).exp).toBeGreaterThan(exp);
    expect(after.oidc.refreshToken).not.toBe(doc.oidc.refreshToken);
    expect(await kubectl(['get', 'clusters'], { kubeconfig: kc })).toMatchObject({ code: 0 });
  }, 90_000);

  it('login --browser errors: denied at the provider, no sign-in within --timeout, a port in use, bad flags', async () => {
    const before = readFileSync(config(), 'utf8');
    const port = await freePort();
    const denied = await browserLogin(fx.main, async (url) => (await signIn(fx, url, 'deny')).html, ['--listen-port', String(port)]);
    expect(denied.authUrl!.searchParams.get('redirect_uri')).toBe(`http://127.0.0.1:${port}/callback`);
    expect(denied).toMatchObject({
      code: 2,
      stdout: '',
      stderr: expect.stringMatching(/access denied: the sign-in was refused at the identity provider \(access_denied: the user denied the request\)\n {2}run `flotilla login --server .* --oidc-issuer .* --oidc-client-id flotilla-cli --browser` again and approve the request\n$/),
    });
    expect(denied.acted).toContain('Sign-in failed');
    expect(denied.stderr).not.toMatch(/\n\s+at /); // no stack trace

    const late = await browserLogin(fx.main, async () => undefined, ['--timeout', '2s']);
    expect(late).toMatchObject({ code: 4, stderr: expect.stringContaining('no sign-in within --timeout (2 s)') });
    await expect(fetch(late.authUrl!.searchParams.get('redirect_uri')!)).rejects.toThrow();

    const busy = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => busy.once('listening', resolve));
    try {
      const taken = (busy.address() as AddressInfo).port;
      const inUse = await browserLogin(fx.main, async () => undefined, ['--listen-port', String(taken)]);
      expect(inUse).toMatchObject({ code: 2, stderr: expect.stringContaining(`cannot listen on 127.0.0.1:${taken} for the sign-in's redirect (EADDRINUSE)\n  another program uses port ${taken}`) });
    } finally {
      busy.close();
    }
    const common = ['login', '--server', platform.gatewayUrl, '--oidc-issuer', fx.main, '--oidc-client-id', fx.deviceClientId];
    expect(await flotilla([...common, '--browser', '--device'])).toMatchObject({ code: 1, stderr: expect.stringContaining('give either --browser or --device, not both') });
    expect(await flotilla([...common, '--listen-port', 'http'])).toMatchObject({ code: 1, stderr: expect.stringContaining('--listen-port: "http" is not a port') });
    expect(readFileSync(config(), 'utf8')).toBe(before); // nothing was stored
  }, 60_000);
});
