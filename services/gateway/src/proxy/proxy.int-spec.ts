import { type IncomingMessage, type Server, createServer, request } from 'node:http';
import { type Server as TlsServer, createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import express from 'express';
import { Registry } from 'prom-client';
import { Subject } from 'rxjs';
import type { ClusterList, ClusterWatchEvent } from '@flotilla/clients';
import { type Cluster, ErrorReason, FlotillaError, type MemberRole, type Principal } from '@flotilla/domain';
import { ClusterHandle, KubeEmulator, createCertificate, keyPem, newKeyPair } from '@flotilla/kube-emulator';
import { MEMBER_ROLE_ANNOTATION, MemberAddressPolicy, MemberClient, parseKubeconfig } from '@flotilla/kube';
import { eventually } from '@flotilla/testing';
import { ClusterMirror, type MirrorRegistry } from '../fleet/cluster-mirror';
import { MemberConnections } from './member-connections';
import { IMPERSONATION_ANNOTATION } from './proxy-admission';
import { MemberProxy, mountProxy } from './proxy.module';
import { ProxyMetrics } from './proxy-metrics';
import type { ProxyAuditEvent, ProxyIdentity } from './proxy-ports';

const P = '/apis/cluster.kubesphere.io/v1alpha1/clusters';
const policy = new MemberAddressPolicy({ allowLoopback: true });

const principals: Record<string, Principal> = {
  'alice-token': { user: 'alice', groups: [], via: 'token' },
  'bob-token': { user: 'bob', groups: [], via: 'token' },
  'carol-token': { user: 'carol', groups: [], via: 'token' },
  'root-token': { user: 'admin', groups: [], via: 'admin-token' },
};
const roles: Record<string, MemberRole> = { alice: 'cluster-viewer', bob: 'cluster-editor', admin: 'cluster-admin' };

function cluster(name: string, ready = true, annotations: Record<string, string> = {}, generation = 1): Cluster {
  return {
    apiVersion: 'cluster.kubesphere.io/v1alpha1',
    kind: 'Cluster',
    metadata: { name, uid: `uid-${name}`, resourceVersion: String(generation), generation, annotations },
    spec: { connection: { type: 'direct' } },
    status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'ClusterReady' : 'ClusterNotReachable', message: ready ? 'ok' : 'cannot connect: ECONNREFUSED' }] },
  };
}

/** The registry as the mirror sees it: a fixed list, then changes the test pushes. */
class Fleet implements MirrorRegistry {
  readonly events = new Subject<ClusterWatchEvent>();
  constructor(readonly items: Cluster[]) {}
  async listClusters(): Promise<ClusterList> {
    return { apiVersion: 'cluster.kubesphere.io/v1alpha1', kind: 'ClusterList', metadata: { resourceVersion: '1' }, items: this.items };
  }
  watchClusters() {
    return this.events.asObservable();
  }
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  text: string;
  json: any;
}

describe('the API proxy in front of emulated members (TLS)', () => {
  let emu: KubeEmulator;
  let member: ClusterHandle;
  let other: ClusterHandle;
  let echo: TlsServer;
  let echoSeen: IncomingMessage | undefined;
  let server: Server;
  let base: string;
  let proxy: MemberProxy;
  let fleet: Fleet;
  let metrics: Registry;
  const audit: ProxyAuditEvent[] = [];
  const credentials: Record<string, string> = {};

  async function direct(method: string, path: string, body?: unknown) {
    const client = new MemberClient(parseKubeconfig(member.kubeconfig('admin')), 5000, { policy });
    try {
      return await client.request(method, path, body);
    } finally {
      client.close();
    }
  }

  function call(method: string, path: string, o: { token?: string; headers?: Record<string, string | string[]>; body?: string | Buffer[] } = {}): Promise<Answer> {
    return new Promise((resolve, reject) => {
      // The path as written: a URL string would have its dot segments normalised away before sending.
      const req = request({ host: '127.0.0.1', port: new URL(base).port, path, method, headers: { authorization: `Bearer ${o.token ?? 'alice-token'}`, ...o.headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      });
      req.on('error', reject);
      if (Array.isArray(o.body)) {
        // Streamed in parts, with no Content-Length (chunked).
        const parts = [...o.body];
        const next = () => {
          const part = parts.shift();
          if (!part) return req.end();
          req.write(part, () => setImmediate(next));
        };
        next();
      } else req.end(o.body);
    });
  }

  /** An upgrade through the gateway: the 101's socket, or the refusal. */
  function upgrade(path: string, token: string, headers: Record<string, string | string[]> = {}): Promise<{ socket: Socket; res: IncomingMessage } | Answer> {
    return new Promise((resolve, reject) => {
      const req = request(`${base}${path}`, {
        headers: { authorization: `Bearer ${token}`, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers },
      });
      req.on('upgrade', (res, socket) => resolve({ socket: socket as Socket, res }));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: text.startsWith('{') ? JSON.parse(text) : undefined });
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  beforeAll(async () => {
    emu = await KubeEmulator.start({ clusters: 0 });
    member = await emu.addCluster({ flavour: 'kubeadm' });
    other = await emu.addCluster({ flavour: 'kubeadm' });

    // A member that answers every upgrade with 101 and echoes the bytes (exec and port-forward are byte streams to the proxy).
    const ca = newKeyPair();
    const caPem = createCertificate({ subject: { cn: 'echo-ca' }, issuer: { cn: 'echo-ca' }, publicKey: ca.publicKey, signingKey: ca.privateKey, ca: true });
    const srv = newKeyPair();
    const cert = createCertificate({ subject: { cn: 'echo' }, issuer: { cn: 'echo-ca' }, publicKey: srv.publicKey, signingKey: ca.privateKey, usage: 'server', ips: ['127.0.0.1'] });
    echo = createTlsServer({ cert, key: keyPem(srv.privateKey) }, (_req, res) => res.end('{}'));
    echo.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      echoSeen = req;
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade}\r\nX-Stream-Protocol-Version: v5.channel.k8s.io\r\n\r\n`);
      if (head.length) socket.write(head);
      socket.pipe(socket);
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const echoPort = (echo.address() as AddressInfo).port;
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    credentials.echo = `apiVersion: v1\nkind: Config\ncurrent-context: e\nclusters: [{name: e, cluster: {server: "https://127.0.0.1:${echoPort}", certificate-authority-data: ${b64(caPem)}}}]\nusers: [{name: e, user: {token: echo-token}}]\ncontexts: [{name: e, context: {cluster: e, user: e}}]\n`;
    credentials.prod = member.kubeconfig('admin');
    credentials.noimp = member.kubeconfig('admin');
    credentials.minimal = member.kubeconfig('admin');
    credentials.other = other.kubeconfig('admin');

    fleet = new Fleet([
      cluster('prod'),
      cluster('noimp', true, { [IMPERSONATION_ANNOTATION]: 'off', [MEMBER_ROLE_ANNOTATION]: 'cluster-admin' }),
      cluster('minimal', true, { [IMPERSONATION_ANNOTATION]: 'off' }),
      cluster('down', false),
      cluster('other'),
      cluster('echo'),
    ]);
    const mirror = new ClusterMirror(fleet);
    mirror.start();
    await mirror.synced;
    const registry = { getClusterCredentials: async (name: string) => ({ uid: `uid-${name}`, kubeconfig: credentials[name] }) };
    metrics = new Registry();
    proxy = new MemberProxy(mirror, new MemberConnections(registry, mirror, policy), new ProxyMetrics(metrics), { maxBodyBytes: 64 * 1024, idleTimeoutMs: 5000 }, 5000);

    const identity: ProxyIdentity = {
      authenticator: {
        authenticate: async (req) => {
          const p = principals[(req.headers.authorization ?? '').replace(/^Bearer /, '')];
          if (!p) throw new FlotillaError(ErrorReason.Unauthorized, 'Unauthorized');
          return p;
        },
      },
      authorizer: {
        fleet: (p) => ({ allowed: p.via === 'admin-token', reason: '' }),
        memberRole: (p) => roles[p.user],
        memberAllows: (role, a) => role === 'cluster-admin' || (role === 'cluster-editor' ? a.group !== 'rbac.authorization.k8s.io' : ['get', 'list', 'watch'].includes(a.verb)),
      },
      audit: { record: async (e) => void audit.push(e) },
    };
    // The rest of the API: the proxy is mounted ahead of it, so none of this sees a proxy path.
    const app = express();
    app.use((_req, res) => res.status(404).type('text/plain').send('not a proxy path'));
    server = createServer(app);
    mountProxy(proxy, server, identity);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // In the member, Flotilla's role groups are bound as Flotilla keeps them in sync (view, edit).
    for (const [group, role] of [
      ['flotilla:role:cluster-viewer', 'view'],
      ['flotilla:role:cluster-editor', 'edit'],
    ]) {
      const crb = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: group.replace(/:/g, '-') }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }] };
      expect((await direct('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', crb)).status).toBe(201);
    }
  });

  afterAll(async () => {
    proxy?.close();
    await new Promise((r) => server?.close(r));
    await new Promise((r) => echo?.close(r));
    await emu?.stop();
  });

  it('GETs through both paths with Flotilla\'s credentials, as the caller', async () => {
    const a = await call('GET', `${P}/prod/proxy/api/v1/namespaces/kube-system`);
    expect(a.status).toBe(200);
    expect(a.json.metadata.uid).toBe(member.kubeSystemUid);
    const b = await call('GET', '/clusters/prod/version');
    expect(b.status).toBe(200);
    expect(b.json.gitVersion).toBeTruthy();
    expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ verb: 'get', cluster: 'prod', code: 200, objectRef: { resource: 'namespaces', namespace: 'kube-system', name: 'kube-system' } })]));
    expect(await metrics.metrics()).toMatch(/flotilla_proxy_requests_total\{cluster="prod",code="200"\} \d+/);
  });

  it('reaches the member as flotilla:user:<name> with the role group: the member\'s RBAC decides', async () => {
    const denied = await call('DELETE', `${P}/prod/proxy/api/v1/namespaces/default/configmaps/x`);
    expect(denied.status).toBe(403);
    expect(denied.json.message).toContain('User "flotilla:user:alice"');
    const cm = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'by-bob' }, data: { a: 'b' } });
    const made = await call('POST', `${P}/prod/proxy/api/v1/namespaces/default/configmaps`, { token: 'bob-token', headers: { 'content-type': 'application/json' }, body: cm });
    expect(made.status).toBe(201);
    expect(made.json.metadata.managedFields[0].manager).toBeDefined();
  });

  it('refuses caller Impersonate-* headers unless fleet-admin; a fleet-admin acts as the named Flotilla user; system: never', async () => {
    const a = await call('GET', `${P}/prod/proxy/api/v1/pods`, { headers: { 'impersonate-user': 'system:admin' } });
    expect(a.status).toBe(403);
    expect(a.json.message).toMatch(/only from a fleet-admin/);
    const masters = await call('GET', `${P}/prod/proxy/api/v1/pods`, { token: 'root-token', headers: { 'impersonate-user': 'bob', 'impersonate-group': 'system:masters' } });
    expect(masters.status).toBe(403);
    expect(masters.json.message).toMatch(/system:masters/);
    const asBob = await call('GET', `${P}/prod/proxy/apis/rbac.authorization.k8s.io/v1/clusterroles`, { token: 'root-token', headers: { 'impersonate-user': 'bob' } });
    expect(asBob.status).toBe(403);
    expect(asBob.json.message).toContain('User "flotilla:user:bob"');
  });

  it('with impersonation off, Flotilla\'s role check decides, and only where Flotilla holds cluster-admin by choice', async () => {
    expect((await call('GET', `${P}/noimp/proxy/api/v1/namespaces/default/configmaps`)).status).toBe(200);
    const del = await call('DELETE', `${P}/noimp/proxy/api/v1/namespaces/default/configmaps/by-bob`);
    expect(del.status).toBe(403);
    expect(del.json.message).toMatch(/impersonation is off/);
    const minimal = await call('GET', `${P}/minimal/proxy/api/v1/pods`);
    expect(minimal.status).toBe(403);
    expect(minimal.json.message).toMatch(/member-role: cluster-admin/);
  });

  it('holds a watch open and delivers a change made directly in the member', async () => {
    const events: string[] = [];
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${base}${P}/prod/proxy/api/v1/namespaces/default/configmaps?watch=true`, { headers: { authorization: 'Bearer alice-token' } }, resolve);
      req.on('error', reject);
      req.end();
    });
    expect(res.statusCode).toBe(200);
    res.on('data', (c: Buffer) => events.push(c.toString()));
    await eventually(async () => expect(await metrics.metrics()).toMatch(/flotilla_proxy_open_watches\{cluster="prod"\} 1/));
    await direct('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'made-directly' } });
    await eventually(() => expect(events.join('')).toMatch(/"type":"ADDED".*"name":"made-directly"/s));
    res.destroy();
    await eventually(async () => expect(await metrics.metrics()).toMatch(/flotilla_proxy_open_watches\{cluster="prod"\} 0/));
    expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ verb: 'watch', cluster: 'prod' })]));
  });

  it('streams a chunked body to the member, and refuses bodies over the limit with 413', async () => {
    const parts = [`{"apiVersion":"v1","kind":"ConfigMap",`, `"metadata":{"name":"streamed"},`, `"data":{"k":"v"}}`];
    const made = await call('POST', `${P}/prod/proxy/api/v1/namespaces/default/configmaps`, { token: 'bob-token', headers: { 'content-type': 'application/json' }, body: parts.map((p) => Buffer.from(p)) });
    expect(made.status).toBe(201);
    const big = 'x'.repeat(70 * 1024);
    const declared = await call('POST', `${P}/prod/proxy/api/v1/namespaces/default/configmaps`, { token: 'bob-token', body: big });
    expect(declared.status).toBe(413);
    expect(declared.json.reason).toBe('RequestEntityTooLarge');
    const chunked = await call('POST', `${P}/prod/proxy/api/v1/namespaces/default/configmaps`, { token: 'bob-token', body: [Buffer.from(big.slice(0, 40_000)), Buffer.from(big.slice(40_000))] });
    expect(chunked.status).toBe(413);
  });

  it('cuts off a caller that stalls its body (slow-loris) with 408, and closes the connection', async () => {
    proxy.settings.idleTimeoutMs = 300;
    try {
      const answer = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = request(`${base}${P}/prod/proxy/api/v1/namespaces/default/configmaps`, { method: 'POST', headers: { authorization: 'Bearer bob-token', 'content-length': '100' } }, resolve);
        req.on('error', reject);
        req.write('{"apiVersion":');
      });
      expect(answer.statusCode).toBe(408);
      expect(answer.headers.connection).toBe('close');
      answer.resume();
    } finally {
      proxy.settings.idleTimeoutMs = 5000;
    }
  });

  it('passes an upgrade through once the member answers 101, byte for byte both ways, with Flotilla\'s credentials and identity', async () => {
    const up = await upgrade(`${P}/echo/proxy/api/v1/namespaces/default/pods/p/exec?command=cat&stdin=true`, 'alice-token', { 'x-stream-protocol-version': ['v5.channel.k8s.io', 'v4.channel.k8s.io'], 'sec-websocket-protocol': 'v5.channel.k8s.io' });
    if (!('socket' in up)) throw new Error(`no upgrade: ${up.status} ${up.text}`);
    expect(up.res.headers['x-stream-protocol-version']).toBe('v5.channel.k8s.io');
    expect(echoSeen!.headers.authorization).toBe('Bearer echo-token');
    expect(echoSeen!.headers['impersonate-user']).toBe('flotilla:user:alice');
    expect(echoSeen!.headers['impersonate-group']).toBe('flotilla:role:cluster-viewer');
    expect(echoSeen!.headersDistinct['x-stream-protocol-version']).toEqual(['v5.channel.k8s.io', 'v4.channel.k8s.io']);
    const got: Buffer[] = [];
    up.socket.on('data', (c: Buffer) => got.push(c));
    up.socket.write('ping-1 ');
    up.socket.write(Buffer.alloc(256 * 1024, 7));
    await eventually(() => expect(Buffer.concat(got).length).toBe(7 + 256 * 1024));
    expect(Buffer.concat(got).subarray(0, 7).toString()).toBe('ping-1 ');
    expect(await metrics.metrics()).toMatch(/flotilla_proxy_open_upgrades\{cluster="echo"\} 1/);
    up.socket.destroy();
    await eventually(() => expect(audit).toEqual(expect.arrayContaining([expect.objectContaining({ verb: 'exec', cluster: 'echo', code: 101 })])));
    await eventually(async () => expect(await metrics.metrics()).toMatch(/flotilla_proxy_open_upgrades\{cluster="echo"\} 0/));
  });

  it('refuses upgrades without credentials, with caller impersonation, or to unknown clusters, with a Status', async () => {
    expect(((await upgrade(`${P}/echo/proxy/api/v1/namespaces/default/pods/p/exec`, 'nobody')) as Answer).status).toBe(401);
    const imp = (await upgrade(`${P}/echo/proxy/api/v1/namespaces/default/pods/p/exec`, 'alice-token', { 'impersonate-user': 'bob' })) as Answer;
    expect(imp.status).toBe(403);
    expect(imp.json.kind).toBe('Status');
    expect(((await upgrade(`${P}/nope/proxy/api/v1/namespaces/default/pods/p/exec`, 'alice-token')) as Answer).status).toBe(404);
    // Upgrades of other paths are ordinary requests (curl's Upgrade: h2c, say).
    const plain = (await upgrade('/elsewhere', 'alice-token', { upgrade: 'h2c' })) as Answer;
    expect(plain.status).toBe(404);
    expect(plain.text).toBe('not a proxy path');
  });

  it.each([
    [`${P}/prod/proxy/api/v1/namespaces/default/../../../secrets`, 'BadRequest'],
    [`${P}/prod/proxy/api/v1/%2e%2e/x`, 'BadRequest'],
    [`${P}/prod/proxy/api%2fv1/pods`, 'BadRequest'],
    [`${P}/prod/proxy/proxy/api/v1/pods`, 'BadRequest'],
    [`${P}/prod/proxy/api/v1/namespaces/default/services/s/proxy/`, 'BadRequest'],
  ])('refuses the hostile path %s with a Status', async (path, reason) => {
    const a = await call('GET', path);
    expect(a.status).toBe(400);
    expect(a.json).toMatchObject({ kind: 'Status', reason });
  });

  it('maps member states: unknown 404, not Ready 503 with its reason, no role 403 naming verb and cluster', async () => {
    expect((await call('GET', `${P}/nope/proxy/api`)).status).toBe(404);
    const down = await call('GET', `${P}/down/proxy/api`);
    expect(down.status).toBe(503);
    expect(down.json.message).toMatch(/ClusterNotReachable/);
    const carol = await call('GET', `${P}/prod/proxy/api/v1/pods`, { token: 'carol-token' });
    expect(carol.status).toBe(403);
    expect(carol.json.message).toMatch(/^user "carol" cannot list clusters\/proxy "prod"/);
  });

  it('turns the member refusing Flotilla\'s credential (401) into 502 naming the rotate endpoint, and refetches credentials after', async () => {
    expect((await call('GET', `${P}/other/proxy/version`)).status).toBe(200);
    other.revokeCredential('admin');
    const refused = await call('GET', `${P}/other/proxy/api/v1/pods`);
    expect(refused.status).toBe(502);
    expect(refused.json.message).toContain('PUT /apis/cluster.kubesphere.io/v1alpha1/clusters/other/kubeconfig');
    other.restoreCredential('admin');
    expect((await call('GET', `${P}/other/proxy/version`)).status).toBe(200);
  });

  it('drops credentials and ends open streams when a cluster\'s spec changes (rotation)', async () => {
    let ended = false;
    const res = await new Promise<IncomingMessage>((resolve) => {
      request(`${base}${P}/prod/proxy/api/v1/namespaces/default/configmaps?watch=true`, { headers: { authorization: 'Bearer alice-token' } }, resolve).end();
    });
    res.on('close', () => (ended = true));
    res.resume();
    fleet.events.next({ type: 'MODIFIED', object: cluster('prod', true, {}, 2) });
    await eventually(() => expect(ended).toBe(true));
    expect((await call('GET', `${P}/prod/proxy/version`)).status).toBe(200);
  });
});
