import { createServer, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import { connect as tlsConnect, createSecureContext } from 'node:tls';
import { parse, stringify } from 'yaml';
import { ClusterHandle, KubeEmulator } from '@flotilla/kube-emulator';
import { runImportChecks } from '../import/import-checks';
import { MemberClient } from './member-client';
import { parseKubeconfig } from '../kubeconfig/kubeconfig';
import { MemberAddressPolicy } from '../net/address-policy';

/** A minimal HTTP CONNECT proxy on 127.0.0.1 that records the tunnels it opened. */
async function connectProxy(): Promise<{ server: Server; url: string; tunnels: string[] }> {
  const tunnels: string[] = [];
  const server = createServer((_req, res) => res.writeHead(405).end());
  server.on('connect', (req, client) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = netConnect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, tunnels };
}

describe('MemberClient through proxy-url (HTTP CONNECT), against the emulator', () => {
  let emu: KubeEmulator;
  let member: ClusterHandle;
  let proxy: Awaited<ReturnType<typeof connectProxy>>;

  beforeAll(async () => {
    emu = await KubeEmulator.start({ clusters: 0 });
    // Emulator infidelity: now and then a cluster's PKI does not load or verify; take another then.
    for (;;) {
      member = await emu.addCluster({ flavour: 'ack' }); // token admin: no client certificate involved
      const pki = (member as unknown as { c: { pki: { caPem: string; serverCertPem: string; serverKeyPem: string } } }).c.pki;
      try {
        createSecureContext({ key: pki.serverKeyPem, cert: pki.serverCertPem, ca: pki.caPem });
      } catch {
        continue;
      }
      const verified = await new Promise<boolean>((resolve) => {
        const s = tlsConnect({ host: '127.0.0.1', port: member.port, ca: member.caPem, rejectUnauthorized: false });
        s.once('secureConnect', () => (resolve(s.authorized), s.destroy()));
        s.once('error', () => resolve(false));
      });
      if (verified) break;
    }
    proxy = await connectProxy();
  });

  afterAll(async () => {
    proxy?.server.closeAllConnections();
    proxy?.server.close();
    await emu?.stop();
  });

  /** The member and the proxy listen on 127.0.0.1, which the policy refuses unless allowed. */
  const policy = new MemberAddressPolicy({ allowLoopback: true });

  const viaProxy = () => {
    const doc = parse(member.kubeconfig('admin')) as { clusters: { cluster: Record<string, unknown> }[] };
    doc.clusters[0]!.cluster['proxy-url'] = proxy.url;
    return stringify(doc);
  };

  it('runs every import check through the tunnel when configuration allows proxies', async () => {
    const facts = await runImportChecks({ name: 'p', kubeconfig: viaProxy(), allowProxyUrl: true, hostId: 'h', connectTimeoutMs: 3000, policy }, { clusterWithUid: async () => undefined, nameTaken: async () => false });
    expect(facts.kubeSystemUid).toBe(member.kubeSystemUid);
    expect(new Set(proxy.tunnels)).toEqual(new Set([`127.0.0.1:${member.port}`]));
  });

  it('is refused without that configuration, before any connection', async () => {
    const before = proxy.tunnels.length;
    await expect(runImportChecks({ name: 'p', kubeconfig: viaProxy(), hostId: 'h', policy }, { clusterWithUid: async () => undefined, nameTaken: async () => false })).rejects.toMatchObject({
      reason: 'Invalid',
      message: expect.stringContaining('proxy-url is refused'),
    });
    expect(proxy.tunnels.length).toBe(before);
  });

  it('reports a proxy that refuses the tunnel as unreachable', async () => {
    const refusing = createServer();
    refusing.on('connect', (_req, client) => client.end('HTTP/1.1 403 Forbidden\r\n\r\n'));
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
    const resolved = parseKubeconfig(viaProxy().replace(proxy.url, `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`), { allowProxyUrl: true });
    const client = new MemberClient(resolved, 3000, { policy });
    await expect(client.request('GET', '/version')).rejects.toMatchObject({ failure: 'unreachable', message: expect.stringContaining('refused the tunnel') });
    client.close();
    refusing.close();
  });
});
