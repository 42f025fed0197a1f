import { KubeEmulator } from '@flotilla/kube-emulator';
import { parseKubeconfig } from '../kubeconfig/kubeconfig';
import { MemberAddressPolicy } from '../net/address-policy';
import { ClusterProber } from './prober';

describe('ClusterProber (against the Kubernetes API emulator)', () => {
  let emu: KubeEmulator;
  beforeAll(async () => {
    emu = await KubeEmulator.start({ clusters: 0 });
  });
  afterAll(async () => {
    await emu?.stop();
  });

  /** Emulated members listen on 127.0.0.1, which the policy refuses unless allowed. */
  const policy = new MemberAddressPolicy({ allowLoopback: true });
  const proberFor = (yaml: string, timeoutMs = 5000) => new ClusterProber(parseKubeconfig(yaml), { timeoutMs, policy });

  it('collects readiness, version, nodes, zones, region and the kube-system UID', async () => {
    const c = await emu.addCluster({
      name: 'p-ok',
      flavour: 'eks',
      nodes: [
        { name: 'n1', zone: 'eu-west-1a', region: 'eu-west-1' },
        { name: 'n2', zone: 'eu-west-1b', region: 'eu-west-1' },
      ],
    });
    const p = proberFor(c.kubeconfig('admin'));
    const o = await p.probe();
    expect(o).toMatchObject({ reachable: true, readinessStatus: 200, readinessEndpoint: '/readyz', nodeCount: 2, zones: ['eu-west-1a', 'eu-west-1b'], region: 'eu-west-1', kubeSystemUid: c.kubeSystemUid });
    expect(o.kubernetesVersion).toBe(c.version);
    expect(o.httpStatus).toBeUndefined();
    p.close();
  });

  it('pages through a big node list, metadata only', async () => {
    const zones = ['ap-southeast-1a', 'ap-southeast-1b', 'ap-southeast-1c'];
    const nodes = Array.from({ length: 1203 }, (_, i) => ({ name: `n${i}`, zone: zones[i % 3], region: i < 1000 ? 'ap-southeast-1' : 'ap-east-1' }));
    const c = await emu.addCluster({ name: 'p-big', flavour: 'ack', nodes });
    const p = proberFor(c.kubeconfig('admin'));
    const o = await p.probe();
    p.close();
    expect(o).toMatchObject({ reachable: true, nodeCount: 1203, zones, region: 'ap-southeast-1' });
    expect(o.httpStatus).toBeUndefined();
  });

  it('falls back from /readyz to /livez to /healthz on 404 and reports failing checks', async () => {
    const c = await emu.addCluster({ name: 'p-fallback' });
    const p = proberFor(c.kubeconfig('admin'));
    c.setHealth('readyz', false, { notFound: true });
    expect(await p.probe()).toMatchObject({ reachable: true, readinessStatus: 200, readinessEndpoint: '/livez' });
    c.setHealth('livez', false, { notFound: true });
    c.setHealth('healthz', false);
    const o = await p.probe();
    expect(o).toMatchObject({ reachable: true, readinessStatus: 500, readinessEndpoint: '/healthz' });
    expect(o.readinessDetail).toContain('[-]');
    p.close();
  });

  it('reports down, hanging and revoked clusters without throwing, within its timeout', async () => {
    const c = await emu.addCluster({ name: 'p-faults', flavour: 'eks' });
    const p = proberFor(c.kubeconfig('admin'));
    await c.down();
    expect(await p.probe()).toMatchObject({ reachable: false });
    await c.up();
    expect(await p.probe()).toMatchObject({ reachable: true, readinessStatus: 200 });
    await c.hang();
    const short = proberFor(c.kubeconfig('admin'), 500);
    const hung = await short.probe();
    short.close();
    expect(hung).toMatchObject({ reachable: false, errorCode: 'ETIMEDOUT' });
    expect(hung.durationMs).toBeLessThan(5000);
    await c.up();
    c.revokeCredential('admin');
    expect(await p.probe()).toMatchObject({ reachable: true, readinessStatus: 401 });
    c.restoreCredential('admin');
    const removeErrors = c.setErrorRate({ pathPrefix: '/version', rate: 1, code: 503 });
    expect(await p.probe()).toMatchObject({ reachable: true, readinessStatus: 200, httpStatus: 503, httpPath: '/version' });
    removeErrors();
    p.close();
  });

  it('reads the client certificate expiry of a kubeadm admin kubeconfig', async () => {
    const c = await emu.addCluster({ name: 'p-cert', flavour: 'kubeadm' });
    const p = proberFor(c.kubeconfig('admin'));
    expect(p.clientCertificateNotAfter?.getTime()).toBeGreaterThan(Date.now());
    expect(await p.probe()).toMatchObject({ reachable: true, readinessStatus: 200 });
    p.close();
  });
});
