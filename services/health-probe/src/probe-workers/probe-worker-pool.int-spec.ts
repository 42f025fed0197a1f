import { CLUSTER_API_VERSION, type Cluster, ErrorReason, FlotillaError, ImportAnnotations } from '@flotilla/domain';
import { KubeEmulator } from '@flotilla/kube-emulator';
import { MemberAddressPolicy, memberProber } from '@flotilla/kube';
import { eventually } from '@flotilla/testing';
import { REPLICA_FAULT } from '../probe-cycle';
import { ProbeWorkerPool } from './probe-worker-pool';

/** Probers in worker processes (ADR 0040), against emulated members on loopback. */
describe('ProbeWorkerPool', () => {
  let emu: KubeEmulator;
  let pool: ProbeWorkerPool;
  const exits: string[] = [];
  const policySettings = { allowList: [], allowLoopback: true, allowPlainHttp: false };

  beforeAll(async () => {
    emu = await KubeEmulator.start({ clusters: 0 });
    pool = new ProbeWorkerPool({
      workers: 2,
      init: { timeoutMs: 1000, inventoryIntervalMs: 60_000, allowProxyUrl: false, handshakeConcurrency: 8, policy: policySettings },
      onExit: (index, detail) => exits.push(`${index}: ${detail}`),
    });
    await pool.start();
  }, 120_000);
  afterAll(async () => {
    await pool?.stop();
    await emu?.stop();
  });

  const cluster = (name: string, kubeconfig: string, annotations?: Record<string, string>): Cluster => ({
    apiVersion: CLUSTER_API_VERSION,
    kind: 'Cluster',
    metadata: { name, ...(annotations ? { annotations } : {}) },
    spec: { connection: { type: 'direct', kubeconfig } },
  });

  it('probes members from the workers, spread over both, with what a prober on the main loop reports', async () => {
    const members = await Promise.all(['w-a', 'w-b', 'w-c', 'w-d'].map((name) => emu.addCluster({ name, nodes: [{ name: 'n1', zone: 'z1', region: 'r1' }] })));
    const probers = await Promise.all(members.map((m) => pool.createProber(cluster(m.name, m.kubeconfig('admin')), { kubeconfig: m.kubeconfig('admin') })));
    expect(pool.load()).toEqual([2, 2]);
    const observations = await Promise.all(probers.map((p, i) => p.probe(members[i].kubeSystemUid)));
    observations.forEach((o, i) => expect(o).toMatchObject({ reachable: true, readinessStatus: 200, nodeCount: 1, zones: ['z1'], region: 'r1', kubeSystemUid: members[i].kubeSystemUid, kubernetesVersion: members[i].version }));
    // The client certificate's expiry comes back from the worker, as a Date.
    expect(probers[0].clientCertificateNotAfter).toBeInstanceOf(Date);
    expect(probers[0].clientCertificateNotAfter!.getTime()).toBeGreaterThan(Date.now());
    for (const p of probers) p.close();
    expect(pool.load()).toEqual([0, 0]);
    // A closed prober probes nothing.
    expect(await probers[0].probe()).toMatchObject({ reachable: false, errorCode: 'ECLOSED' });
  });

  it('refuses stored credentials as a prober on the main loop would, naming the field', async () => {
    const m = await emu.addCluster({ name: 'w-insecure' });
    const kubeconfig = m.kubeconfig('admin').replace(/certificate-authority-data: .*/, 'insecure-skip-tls-verify: true');
    const target = cluster(m.name, kubeconfig);
    const policy = new MemberAddressPolicy({ allowLoopback: true });
    let onMain: unknown;
    try {
      memberProber(target, { kubeconfig }, policy, { timeoutMs: 1000 });
    } catch (error) {
      onMain = error;
    }
    expect(onMain).toBeInstanceOf(FlotillaError);
    const inWorker = await pool.createProber(target, { kubeconfig }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(inWorker).toBeInstanceOf(FlotillaError);
    expect((inWorker as FlotillaError).reason).toBe((onMain as FlotillaError).reason);
    expect((inWorker as FlotillaError).message).toBe((onMain as FlotillaError).message);
    expect((inWorker as FlotillaError).details).toEqual((onMain as FlotillaError).details);
    // The choice recorded at import lets the same kubeconfig through, in the worker too.
    const allowed = await pool.createProber(cluster(m.name, kubeconfig, { [ImportAnnotations.allowInsecureSkipTlsVerify]: 'true' }), { kubeconfig });
    expect(await allowed.probe()).toMatchObject({ reachable: true, readinessStatus: 200 });
    allowed.close();
    // Loopback members are refused unless the operator allowed them: the worker applies the pool's policy.
    const strict = new ProbeWorkerPool({ workers: 1, init: { timeoutMs: 1000, inventoryIntervalMs: 0, allowProxyUrl: false, handshakeConcurrency: 1, policy: { ...policySettings, allowLoopback: false } } });
    await strict.start();
    try {
      const refused = await strict.createProber(cluster('w-strict', m.kubeconfig('admin')), { kubeconfig: m.kubeconfig('admin') }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(FlotillaError);
      expect((refused as FlotillaError).message).toMatch(/loopback/i);
    } finally {
      await strict.stop();
    }
  });

  it('answers REPLICA_FAULT for probes in flight when its worker exits, starts it again and probes on', async () => {
    const hung = await emu.addCluster({ name: 'w-hung' });
    const ok = await emu.addCluster({ name: 'w-ok' });
    const hungProber = await pool.createProber(cluster(hung.name, hung.kubeconfig('admin')), { kubeconfig: hung.kubeconfig('admin') });
    const okProber = await pool.createProber(cluster(ok.name, ok.kubeconfig('admin')), { kubeconfig: ok.kubeconfig('admin') });
    expect(await okProber.probe()).toMatchObject({ reachable: true });
    hung.hang();
    const inFlight = hungProber.probe();
    // Both workers are killed while the probe waits on the member (as a crash or the OOM killer would).
    for (const p of pool.processes()) p?.kill('SIGKILL');
    expect(await inFlight).toMatchObject({ reachable: false, errorCode: REPLICA_FAULT });
    await eventually(() => expect(exits).toHaveLength(2));
    // Started again; each prober is opened again on a running worker at its next probe.
    await eventually(async () => expect(await okProber.probe()).toMatchObject({ reachable: true, readinessStatus: 200 }), { timeoutMs: 60_000, intervalMs: 200 });
    await hung.up();
    await eventually(async () => expect(await hungProber.probe()).toMatchObject({ reachable: true, readinessStatus: 200 }), { timeoutMs: 30_000, intervalMs: 200 });
    expect(pool.load().reduce((a, b) => a + b, 0)).toBe(2);
    hungProber.close();
    okProber.close();
  }, 120_000);

  it('says ServiceUnavailable (retry later) when no worker runs, and fails its start when the worker cannot load', async () => {
    const idle = new ProbeWorkerPool({ workers: 1, init: { timeoutMs: 1000, inventoryIntervalMs: 0, allowProxyUrl: false, handshakeConcurrency: 1, policy: policySettings } });
    const m = await emu.addCluster({ name: 'w-idle' });
    const error = await idle.createProber(cluster(m.name, m.kubeconfig('admin')), { kubeconfig: m.kubeconfig('admin') }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(FlotillaError);
    expect((error as FlotillaError).reason).toBe(ErrorReason.ServiceUnavailable);
    const broken = new ProbeWorkerPool({ workers: 1, script: `${__dirname}/no-such-worker.js`, init: { timeoutMs: 1000, inventoryIntervalMs: 0, allowProxyUrl: false, handshakeConcurrency: 1, policy: policySettings } });
    await expect(broken.start()).rejects.toThrow(/probe worker 0 exited while starting \(exit code 1: Error: Cannot find module/);
    await broken.stop();
  });
});
