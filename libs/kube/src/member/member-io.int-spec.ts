import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse, stringify } from 'yaml';
import { type Cluster, FlotillaError } from '@flotilla/domain';
import { ClusterHandle, KubeEmulator } from '@flotilla/kube-emulator';
import { runImportChecks } from '../import/import-checks';
import { parseKubeconfig } from '../kubeconfig/kubeconfig';
import { MemberAddressPolicy, type MemberResolver } from '../net/address-policy';
import { ClusterProber } from '../probe/prober';
import { MemberClient, MemberUnavailableError } from './member-client';
import { resolveMember } from './member-target';
import { NODES_ACCEPT } from './node-list';

const lookups = { clusterWithUid: async () => undefined, nameTaken: async () => false };

/** The kubeconfig of `member` with its server rewritten (the emulator's certificate also names "kubernetes"). */
function withServer(kubeconfig: string, server: string): string {
  const doc = parse(kubeconfig) as { clusters: { cluster: Record<string, unknown> }[] };
  doc.clusters[0]!.cluster.server = server;
  return stringify(doc);
}

/** A resolver answering from a script, one answer per call (the last one repeats), counting its calls. */
function scripted(...answers: string[][]): MemberResolver & { calls: number } {
  const fn = Object.assign(
    async (_host: string) => {
      const answer = answers[Math.min(fn.calls, answers.length - 1)]!;
      fn.calls++;
      return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    },
    { calls: 0 },
  );
  return fn;
}

describe('connections to members under the address policy (against the emulator)', () => {
  let emu: KubeEmulator;
  let member: ClusterHandle;

  beforeAll(async () => {
    emu = await KubeEmulator.start({ clusters: 0 });
    member = await emu.addCluster({ flavour: 'ack' });
  });
  afterAll(async () => {
    await emu?.stop();
  });

  it('connects through the policy\'s resolver: a name only it knows reaches the member', async () => {
    const resolve = scripted(['127.0.0.1']);
    const kubeconfig = withServer(member.kubeconfig('admin'), `https://kubernetes:${member.port}`);
    const facts = await runImportChecks({ name: 'n', kubeconfig, hostId: 'h', connectTimeoutMs: 3000, policy: new MemberAddressPolicy({ allowLoopback: true, resolve }) }, lookups);
    expect(facts.kubeSystemUid).toBe(member.kubeSystemUid);
    expect(resolve.calls).toBeGreaterThanOrEqual(2); // once when accepted, again when connecting
  });

  it('refuses DNS rebinding: a name that resolved to an allowed address at parse time and to metadata at connect time', async () => {
    const resolve = scripted(['203.0.113.10'], ['169.254.169.254']);
    const kubeconfig = withServer(member.kubeconfig('admin'), `https://kubernetes:${member.port}`);
    const attempt = runImportChecks({ name: 'n', kubeconfig, hostId: 'h', connectTimeoutMs: 3000, policy: new MemberAddressPolicy({ allowLoopback: true, resolve }) }, lookups);
    await expect(attempt).rejects.toBeInstanceOf(FlotillaError);
    await expect(attempt).rejects.toMatchObject({ reason: 'Invalid', message: expect.stringMatching(/ServerAnswers: .*kubernetes resolves to 169\.254\.169\.254, a link-local or cloud metadata address/) });
    expect(resolve.calls).toBe(2);
  });

  it('the prober refuses a rebound name and a refused IP literal on every probe, and reaches an allowed one', async () => {
    const rebound = scripted(['169.254.169.254']);
    const named = parseKubeconfig(withServer(member.kubeconfig('admin'), `https://kubernetes:${member.port}`));
    const refused = new ClusterProber(named, { timeoutMs: 3000, policy: new MemberAddressPolicy({ allowLoopback: true, resolve: rebound }) });
    const first = await refused.probe();
    expect(first).toMatchObject({ reachable: false, errorCode: expect.stringMatching(/^EMEMBERADDRESS: kubernetes resolves to 169\.254\.169\.254/) });
    expect(await refused.probe()).toMatchObject({ reachable: false, errorCode: expect.stringMatching(/^EMEMBERADDRESS/) });
    refused.close();

    const literal = new ClusterProber({ ...named, server: `https://[::ffff:a9fe:a9fe]:${member.port}` }, { timeoutMs: 3000, policy: new MemberAddressPolicy({ allowLoopback: true }) });
    expect(await literal.probe()).toMatchObject({ reachable: false, errorCode: expect.stringMatching(/^EMEMBERADDRESS: .*carries the IPv4 address 169\.254\.169\.254/) });
    literal.close();

    const loopbackRefused = new ClusterProber(parseKubeconfig(member.kubeconfig('admin')), { timeoutMs: 3000, policy: new MemberAddressPolicy() });
    expect(await loopbackRefused.probe()).toMatchObject({ reachable: false, errorCode: expect.stringMatching(/^EMEMBERADDRESS: .*loopback address/) });
    loopbackRefused.close();

    const ok = new ClusterProber(named, { timeoutMs: 3000, policy: new MemberAddressPolicy({ allowLoopback: true, resolve: scripted(['127.0.0.1']) }) });
    expect(await ok.probe()).toMatchObject({ reachable: true, readinessStatus: 200, kubeSystemUid: member.kubeSystemUid });
    ok.close();
  });

  it('reads the nodes in pages, metadata only, so a node list larger than the answer bound imports', async () => {
    const big = await emu.addCluster({ name: 'many-nodes', flavour: 'eks', nodes: Array.from({ length: 1203 }, (_, i) => ({ name: `n${i}`, zone: `z${i % 3}`, region: 'eu-west-1' })) });
    const policy = new MemberAddressPolicy({ allowLoopback: true });
    const raw = new MemberClient(parseKubeconfig(big.kubeconfig('admin')), 5000, { policy, maxBodyBytes: 64 * 1024 * 1024 });
    const fullList = await raw.request<{ items: unknown[] }>('GET', '/api/v1/nodes');
    const firstPage = await raw.request<{ items: unknown[] }>('GET', '/api/v1/nodes?limit=500', undefined, { Accept: NODES_ACCEPT });
    expect([fullList.body.items.length, firstPage.body.items.length]).toEqual([1203, 500]);
    const full = JSON.stringify(fullList.body).length;
    const page = JSON.stringify(firstPage.body).length;
    raw.close();
    const bound = Math.ceil(page * 1.2);
    expect(bound).toBeLessThan(full); // the whole list, as read before, would not fit

    const facts = await runImportChecks({ name: 'm', kubeconfig: big.kubeconfig('admin'), hostId: 'h', policy, maxBodyBytes: bound }, lookups);
    expect(facts.nodes).toHaveLength(1203);
    expect(new Set(facts.nodes.map((n) => n.labels['topology.kubernetes.io/zone']))).toEqual(new Set(['z0', 'z1', 'z2']));
    expect(facts.nodes.some((n) => n.providerID?.startsWith('aws://'))).toBe(true);

    const small = new MemberClient(parseKubeconfig(big.kubeconfig('admin')), 5000, { policy, maxBodyBytes: bound });
    await expect(small.request('GET', '/api/v1/nodes')).rejects.toMatchObject({ failure: 'answer', message: expect.stringMatching(/the answer of 127\.0\.0\.1:\d+ to GET \/api\/v1\/nodes is larger than \d+ bytes/) });
    small.close();
  });

  it('resolves a stored connection under the import\'s rules: kubernetesAPIEndpoint is checked like a kubeconfig server', () => {
    const cluster = (endpoint: string, annotations: Record<string, string> = {}) =>
      ({ metadata: { name: 'c', annotations }, spec: { connection: { type: 'direct', kubernetesAPIEndpoint: endpoint } } }) as unknown as Cluster;
    const policy = new MemberAddressPolicy();
    const refusal = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return error as FlotillaError;
      }
      throw new Error('accepted');
    };
    const metadata = refusal(() => resolveMember(cluster('https://[::ffff:a9fe:a9fe]:6443'), { token: 't' }, policy));
    expect(metadata).toMatchObject({ reason: 'Invalid', details: { causes: [{ field: 'spec.connection.kubernetesAPIEndpoint' }] } });
    expect(metadata.message).toMatch(/169\.254\.169\.254/);
    expect(refusal(() => resolveMember(cluster('http://10.0.0.1:6443'), { token: 't' }, policy)).message).toMatch(/plain http:\/\//);
    expect(resolveMember(cluster('https://u:pw@10.0.0.1:6443/'), { token: 't' }, policy)).toMatchObject({ server: 'https://10.0.0.1:6443', auth: { type: 'token', token: 't' } });

    // insecure-skip-tls-verify only with the annotation the import recorded, as for the import.
    const insecure = withServer(member.kubeconfig('admin'), 'https://10.0.0.1:6443').replace('certificate-authority-data:', 'insecure-skip-tls-verify: true\n    x-ca:');
    expect(refusal(() => resolveMember(cluster(''), { kubeconfig: insecure }, policy)).message).toMatch(/insecure-skip-tls-verify is refused/);
    expect(resolveMember(cluster('', { 'import.flotilla.io/allow-insecure-skip-tls-verify': 'true' }), { kubeconfig: insecure }, policy).insecureSkipTlsVerify).toBe(true);
  });
});

describe('a hostile member (plain http on 127.0.0.1, allowed for this test)', () => {
  let server: Server;
  let base: string;
  const policy = new MemberAddressPolicy({ allowLoopback: true, allowPlainHttp: true });
  const FIVE_MIB = 'x'.repeat(5 * 1024 * 1024);

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = (req.url ?? '').replace(/\?.*$/, '');
      if (path === '/big' || path === '/readyz') return res.writeHead(200, { 'content-type': 'application/json' }).end(`{"a":"${FIVE_MIB}"}`);
      if (path === '/chunked') {
        // No Content-Length: the bound must hold while streaming.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"a":"');
        for (let i = 0; i < 6; i++) res.write('y'.repeat(1024 * 1024));
        return res.end('"}');
      }
      if (path.startsWith('/redirect')) return res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      if (path === '/deep') return res.writeHead(200).end('['.repeat(10_000));
      if (path === '/text') return res.writeHead(500).end(`line one\n\u001b[31mred\u202egnirts ${'z'.repeat(1000)}`);
      res.writeHead(404).end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const client = () => new MemberClient({ contextName: '', clusterName: '', userName: '', server: base, insecureSkipTlsVerify: false, auth: { type: 'token', token: 'secret-token' } }, 5000, { policy });

  it('caps every answer, by Content-Length and while streaming, naming the path and the limit', async () => {
    const c = client();
    await expect(c.request('GET', '/big')).rejects.toMatchObject({ failure: 'answer', message: expect.stringMatching(/to GET \/big is larger than 4 MiB, the most Flotilla reads from a member/) });
    await expect(c.request('GET', '/chunked?continue=abc')).rejects.toMatchObject({ failure: 'answer', message: expect.stringMatching(/to GET \/chunked is larger than 4 MiB/) });
    await expect(c.request('GET', '/deep')).rejects.toMatchObject({ failure: 'answer', message: expect.stringMatching(/nests deeper than/) });
  });

  it('never follows a redirect', async () => {
    await expect(client().request('GET', '/redirect')).rejects.toMatchObject({ failure: 'refused', message: expect.stringMatching(/answered GET \/redirect with a redirect \(302\), which Flotilla never follows/) });
  });

  it('keeps a non-JSON answer short and free of control characters', async () => {
    const r = await client().request('GET', '/text');
    const message = (r.body as { message: string }).message;
    expect(r.status).toBe(500);
    expect(message.startsWith('line one [31mred gnirts zzz')).toBe(true);
    expect(message.length).toBeLessThanOrEqual(257);
    expect(message).not.toMatch(/[\u0000-\u001f\u202e]/);
  });

  it('refuses plain http without the opt-in, at connect time too', async () => {
    const strictClient = new MemberClient(client().config, 5000, { policy: new MemberAddressPolicy({ allowLoopback: true }) });
    await expect(strictClient.request('GET', '/version')).rejects.toMatchObject({ failure: 'refused', message: expect.stringMatching(/plain http:\/\//) });
  });

  it('the prober caps answers and refuses redirects the same way', async () => {
    const resolved = parseKubeconfig(`apiVersion: v1
clusters: [{name: c, cluster: {server: '${base.replace('http://', 'http://admin:hunter2@')}'}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`);
    expect(resolved.server).toBe(base);
    const p = new ClusterProber(resolved, { timeoutMs: 5000, policy });
    const o = await p.probe();
    p.close();
    expect(o).toMatchObject({ reachable: false, errorCode: expect.stringMatching(/^EBODYTOOLARGE: the answer to GET \/readyz is larger than 4 MiB/) });
    const redirected = new ClusterProber({ ...resolved, server: `${base}/redirect` }, { timeoutMs: 5000, policy });
    expect(await redirected.probe()).toMatchObject({ reachable: false, errorCode: expect.stringMatching(/^EREDIRECT/) });
    redirected.close();
  });

  it('names no userinfo in the errors of an unreachable server', async () => {
    const resolved = parseKubeconfig(`apiVersion: v1
clusters: [{name: c, cluster: {server: 'https://admin:hunter2@127.0.0.1:1'}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`);
    const error = await new MemberClient(resolved, 2000, { policy }).request('GET', '/version').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MemberUnavailableError);
    expect((error as Error).message).toMatch(/cannot connect to 127\.0\.0\.1:1: ECONNREFUSED/);
    expect(JSON.stringify(resolved)).not.toMatch(/hunter2/);
  });
});
