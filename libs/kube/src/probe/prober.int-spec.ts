import { KubeEmulator } from '@flotilla/kube-emulator';
import { eventually } from '@flotilla/testing';
import { parseKubeconfig } from '../kubeconfig/kubeconfig';
import { MemberAddressPolicy } from '../net/address-policy';
import { HandshakeGate } from '../net/handshake-gate';
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

  it('between inventories asks a ready member on the same connection only its readiness; a new connection, a failure or another identity makes the next probe full (ADR 0038)', async () => {
    const c = await emu.addCluster({ name: 'p-light', flavour: 'eks', nodes: [{ name: 'n1', zone: 'z-a', region: 'r-1' }] });
    const p = new ClusterProber(parseKubeconfig(c.kubeconfig('admin')), { timeoutMs: 5000, policy, inventoryIntervalMs: 60_000 });
    c.recordRequests();
    const paths = () => c.requests().map((r) => r.path.replace(/\?.*$/, ''));
    const probe = async (expectedUid = c.kubeSystemUid) => {
      const before = c.requests().length;
      const o = await p.probe(expectedUid);
      return { o, asked: paths().slice(before) };
    };
    const full = ['/readyz', '/version', '/api/v1/nodes', '/api/v1/namespaces/kube-system'];

    const first = await probe();
    expect(first.o).toMatchObject({ reachable: true, readinessStatus: 200, nodeCount: 1, kubeSystemUid: c.kubeSystemUid });
    expect(first.o.readinessOnly).toBeUndefined();
    expect([...first.asked].sort()).toEqual([...full].sort());

    const light = await probe();
    expect(light.asked).toEqual(['/readyz']);
    expect(light.o).toMatchObject({ reachable: true, readinessStatus: 200, readinessOnly: true });
    expect(light.o.kubeSystemUid).toBeUndefined();

    // A failing readiness is probed in full, and so is the probe after it.
    c.setHealth('readyz', false);
    const notReady = await probe();
    expect(notReady.o).toMatchObject({ readinessStatus: 500 });
    expect(notReady.asked).toHaveLength(4);
    c.setHealth('readyz', true);
    expect((await probe()).asked).toHaveLength(4);
    expect((await probe()).asked).toEqual(['/readyz']);

    // A new connection (the member went away and came back) may reach another server: full.
    await c.down();
    expect((await probe()).o).toMatchObject({ reachable: false });
    await c.up();
    expect((await probe()).asked).toHaveLength(4);
    expect((await probe()).asked).toEqual(['/readyz']);

    // A UID other than the recorded one (an endpoint that answers for another cluster) is never followed by a light probe.
    const swapped = new ClusterProber(parseKubeconfig(c.kubeconfig('admin')), { timeoutMs: 5000, policy, inventoryIntervalMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      const before = c.requests().length;
      expect(await swapped.probe('uid-of-the-imported-cluster')).toMatchObject({ kubeSystemUid: c.kubeSystemUid });
      expect(paths().slice(before)).toHaveLength(4);
    }
    swapped.close();

    // Without an interval (the default), every probe is full.
    const always = proberFor(c.kubeconfig('admin'));
    await always.probe();
    const before = c.requests().length;
    await always.probe();
    expect(paths().slice(before)).toHaveLength(4);
    always.close();
    p.close();
  });

  it('opens a connection only with a handshake permit, starts its timeout once it holds one, and needs none on a kept connection (ADR 0039)', async () => {
    const c = await emu.addCluster({ name: 'p-gate' });
    const hung = await emu.addCluster({ name: 'p-gate-hung' });
    const gate = new HandshakeGate(1);
    const p = new ClusterProber(parseKubeconfig(c.kubeconfig('admin')), { timeoutMs: 300, policy, handshakes: gate });
    c.recordRequests();

    // The only permit is taken: the probe waits, asking the member nothing.
    const held = await gate.acquire();
    const first = p.probe();
    await eventually(() => expect(gate.queued).toBe(1));
    // Hold it past the probe's 300 ms timeout: another probe (no gate) times out against a hanging member.
    await hung.hang();
    const timedOut = new ClusterProber(parseKubeconfig(hung.kubeconfig('admin')), { timeoutMs: 400, policy });
    expect(await timedOut.probe()).toMatchObject({ reachable: false, errorCode: 'ETIMEDOUT' });
    timedOut.close();
    expect(c.requests()).toHaveLength(0);
    held();
    // The wait was not the member's time: the probe succeeds and its duration excludes the wait.
    const o = await first;
    expect(o).toMatchObject({ reachable: true, readinessStatus: 200 });
    expect(o.durationMs).toBeLessThan(300);
    expect(gate.inProgress).toBe(0);

    // The connection is kept: the next probe runs while another holds the only permit.
    const again = await gate.acquire();
    expect(await p.probe()).toMatchObject({ reachable: true, readinessStatus: 200 });
    again();

    // A prober closed while it waits gives up at once, and takes no permit.
    const other = new ClusterProber(parseKubeconfig(c.kubeconfig('admin')), { timeoutMs: 300, policy, handshakes: gate });
    const blocker = await gate.acquire();
    const waiting = other.probe();
    await eventually(() => expect(gate.queued).toBe(1));
    other.close();
    expect(await waiting).toMatchObject({ reachable: false, errorCode: 'ECLOSED' });
    expect(gate.queued).toBe(0);
    blocker();
    expect(gate.inProgress).toBe(0);
    p.close();
    await hung.up();
  });

  it('reads the client certificate expiry of a kubeadm admin kubeconfig', async () => {
    const c = await emu.addCluster({ name: 'p-cert', flavour: 'kubeadm' });
    const p = proberFor(c.kubeconfig('admin'));
    expect(p.clientCertificateNotAfter?.getTime()).toBeGreaterThan(Date.now());
    expect(await p.probe()).toMatchObject({ reachable: true, readinessStatus: 200 });
    p.close();
  });
});
