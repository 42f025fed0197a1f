import { readFileSync } from 'node:fs';
import { findCondition } from '@flotilla/domain';
import { type ClusterHandle, KubeEmulator } from '@flotilla/kube-emulator';
import type { RunningService } from '@flotilla/service-kit';
import { type PlatformEnv, type SourceProcess, descendantPids, eventually, preparePlatformEnv, startSourceProcess } from '@flotilla/testing';
import { type TestRegistry, testRegistry } from '../testing/test-registry';
import { importedMember } from '../testing/imported-member';
import { startHealthProbe } from '../main';

/** The whole replica with PROBE_WORKERS=2 (ADR 0040): real registry, Postgres and Redis, emulated members. */
describe('health-probe with probe workers', () => {
  let platform: PlatformEnv;
  let registry: SourceProcess;
  let probe: RunningService | undefined;
  let client: TestRegistry;
  let emu: KubeEmulator;

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    client = testRegistry(`127.0.0.1:${platform.ports.registryGrpc}`, platform.internalToken);
    emu = await KubeEmulator.start({ clusters: 0 });
    ({ running: probe } = await startHealthProbe({
      ...platform.env('health-probe'),
      PROBE_WORKERS: '2',
      PROBE_INTERVAL_MS: '500',
      PROBE_RETRY_BACKOFF_MS: '300',
      PROBE_TIMEOUT_MS: '1500',
      PROBE_LEASE_HEARTBEAT_MS: '200',
      PROBE_LEASE_TTL_MS: '1500',
      PROBE_LAST_SEEN_FLUSH_MS: '100',
    }));
  }, 120_000);

  afterAll(async () => {
    await probe?.stop();
    client?.close();
    await registry?.stop();
    await emu?.stop();
    await platform?.cleanup();
  });

  const member = (name: string): Promise<ClusterHandle> => importedMember(emu, client, name);
  const ready = async (name: string) => findCondition((await client.get(name)).status?.conditions, 'Ready');
  /** The sum of a metric's series whose labels include `labels`. */
  const metric = async (name: string, labels = ''): Promise<number> => {
    const text = await (await fetch(`${probe!.httpUrl}/metrics`)).text();
    return text
      .split('\n')
      .filter((l) => (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) && l.includes(labels))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  };

  /** This process's children that run the probe worker (what `ps` shows an operator). */
  const workerPids = (): number[] =>
    descendantPids(process.pid).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('probe-worker');
      } catch {
        return false; // gone
      }
    });

  it('probes from its workers: status from the member, a down member goes Ready=False and back', async () => {
    expect(workerPids()).toHaveLength(2);
    // The workers' environment holds none of the replica's secrets.
    for (const pid of workerPids()) expect(readFileSync(`/proc/${pid}/environ`, 'utf8')).not.toContain(platform.internalToken);
    const a = await member('pw-a');
    const b = await member('pw-b');
    await eventually(async () => {
      const c = await client.get('pw-a');
      expect(c.status).toMatchObject({ nodeCount: 1, zones: ['z-a'], region: 'r-1', kubernetesVersion: a.version });
    }, { timeoutMs: 15_000 });
    await b.down();
    await eventually(async () => expect(await ready('pw-b')).toMatchObject({ status: 'False', reason: 'ClusterNotReachable' }), { timeoutMs: 15_000 });
    await b.up();
    await eventually(async () => expect(await ready('pw-b')).toMatchObject({ status: 'True', reason: 'ClusterReady' }), { timeoutMs: 15_000 });
  });

  it('a killed worker is started again, counted, and its members stay Ready', async () => {
    await member('pw-c');
    await eventually(async () => expect((await client.get('pw-c')).status?.nodeCount).toBe(1), { timeoutMs: 15_000 });
    const before = workerPids();
    process.kill(before[0], 'SIGKILL');
    await eventually(async () => expect(await metric('flotilla_probe_worker_exits_total')).toBe(1), { timeoutMs: 15_000 });
    await eventually(() => {
      const now = workerPids();
      expect(now).toHaveLength(2);
      expect(now).not.toContain(before[0]);
    }, { timeoutMs: 30_000 });
    // Probing goes on (probe times keep moving), and no member was reported down for the replica's fault.
    const probed = async () => Date.parse((await client.get('pw-c')).status?.lastProbeTime ?? '') || 0;
    const t0 = await probed();
    await eventually(async () => expect(await probed()).toBeGreaterThan(t0), { timeoutMs: 15_000 });
    for (const name of ['pw-a', 'pw-c']) expect(await ready(name)).toMatchObject({ status: 'True' });
    // The only transition to False is pw-b's, from the test above.
    expect(await metric('flotilla_cluster_transitions_total', 'to="False"')).toBe(1);
  });
});
