import type { IncomingMessage } from 'node:http';
import { ClusterHandle, KubeEmulator } from '@flotilla/kube-emulator';
import { parseKubeconfig } from '../kubeconfig/kubeconfig';
import { MemberAddressPolicy } from '../net/address-policy';
import { MemberUnavailableError } from './member-client';
import { MemberTransport } from './member-transport';

const loopback = new MemberAddressPolicy({ allowLoopback: true });

function read(res: IncomingMessage): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    res.on('error', reject);
  });
}

function get(t: MemberTransport, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = t.request('GET', path, headers);
    req.on('response', (res) => read(res).then(resolve, reject));
    req.on('error', reject);
    req.end();
  });
}

describe('MemberTransport (against the emulator)', () => {
  let emu: KubeEmulator;
  let member: ClusterHandle;

  beforeAll(async () => {
    emu = await KubeEmulator.start({ clusters: 0 });
    member = await emu.addCluster({ flavour: 'kubeadm' });
  });
  afterAll(async () => {
    await emu?.stop();
  });

  it('authenticates with the client certificate of the kubeconfig, verifying the member against its CA', async () => {
    const t = new MemberTransport(parseKubeconfig(member.kubeconfig('admin')), { policy: loopback });
    const answer = await get(t, '/api/v1/namespaces/kube-system');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).metadata.uid).toBe(member.kubeSystemUid);
    t.close();
  });

  it('sends the bearer token of the kubeconfig, never a caller-supplied Authorization', async () => {
    const t = new MemberTransport(parseKubeconfig(member.kubeconfig('readonly')), { policy: loopback });
    const answer = await get(t, '/api/v1/namespaces', { authorization: 'Bearer not-the-token' });
    expect(answer.status).toBe(200);
    t.close();
  });

  it('reuses pooled connections for ordinary requests', async () => {
    const t = new MemberTransport(parseKubeconfig(member.kubeconfig('admin')), { policy: loopback });
    member.recordPeers();
    const before = member.peers().length;
    for (let i = 0; i < 5; i++) expect((await get(t, '/version')).status).toBe(200);
    expect(member.peers().length - before).toBe(1);
    t.close();
  });

  it('refuses a loopback member under the strict policy, before connecting', () => {
    expect(() => new MemberTransport(parseKubeconfig(member.kubeconfig('admin')), { policy: new MemberAddressPolicy() })).toThrow(/loopback/);
  });

  it('refuses proxy-url clearly, and plain http://', () => {
    const config = { ...parseKubeconfig(member.kubeconfig('admin')), proxyUrl: 'http://proxy.example:3128' };
    expect(() => new MemberTransport(config, { policy: loopback })).toThrow(/proxy-url.*does not support/);
    const plain = { ...parseKubeconfig(member.kubeconfig('admin')), server: `http://127.0.0.1:${member.port}` };
    expect(() => new MemberTransport(plain, { policy: loopback })).toThrow(/not https/);
  });

  it('refuses new requests once closed (rotation, removal)', () => {
    const t = new MemberTransport(parseKubeconfig(member.kubeconfig('admin')), { policy: loopback });
    t.close();
    expect(() => t.request('GET', '/version', {})).toThrow(MemberUnavailableError);
  });

  it('reports the member\'s ordinary answer to an upgrade it does not accept', async () => {
    const t = new MemberTransport(parseKubeconfig(member.kubeconfig('noaccess')), { policy: loopback });
    const answer = await t.upgrade('GET', '/api/v1/namespaces/default/pods/p/exec?command=echo', { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' });
    expect(answer.upgraded).toBe(false);
    expect(answer.response.statusCode).toBe(403);
    answer.response.resume();
    t.close();
  });

  it('fails with a timeout naming the member when the TLS handshake never comes', async () => {
    const hung = await emu.addCluster({ flavour: 'kubeadm' });
    hung.hang();
    const t = new MemberTransport(parseKubeconfig(hung.kubeconfig('admin')), { policy: loopback, connectTimeoutMs: 300 });
    await expect(get(t, '/version')).rejects.toMatchObject({ failure: 'timeout' });
    t.close();
    hung.up();
  });
});
