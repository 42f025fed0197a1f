import { CLUSTER_API_VERSION, Cluster, ClusterStatus, PROBE_INTERVAL_ANNOTATION, ProbeObservation } from '@flotilla/domain';
import { CredentialLoader } from './credential-loader';
import type { MemberCredentials } from './registry-port';
import { ProbeScheduler, Prober } from './scheduler';

/**
 * The cold start (issue 13) without a clock: a replica takes 2,000 clusters at once, the registry
 * answers credentials in batches and never finishes a status write (saturated), and the fake
 * clock is moved by hand. Every cluster must still be probed once within the first interval.
 */
const ok: ProbeObservation = { reachable: true, readinessStatus: 200, readinessEndpoint: '/readyz', kubeSystemUid: 'u', nodeCount: 3, kubernetesVersion: 'v1.30.4', durationMs: 1 };

function cluster(name: string, annotations: Record<string, string> = {}): Cluster {
  return {
    apiVersion: CLUSTER_API_VERSION,
    kind: 'Cluster',
    metadata: { name, uid: `uid-${name}`, generation: 1, annotations },
    spec: { connection: { type: 'direct' } },
    // No version or node count yet: every first probe has a status to write (the worst case).
    status: { uid: 'u', conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True', reason: 'ClusterReady' }] },
  };
}

function coldStart(fleet: Cluster[]) {
  let now = 5_000_000;
  const firstProbe = new Map<string, number>();
  const batches: number[] = [];
  const writesStarted: string[] = [];
  const unanswered: (() => void)[] = [];
  const loader = new CredentialLoader(
    {
      batch: async (names) => {
        batches.push(names.length);
        return new Map<string, MemberCredentials>(names.map((n) => [n, { token: `t-${n}` }]));
      },
    },
    { maxBatch: 500, windowMs: 20, keepMs: 60_000, now: () => now },
  );
  const scheduler = new ProbeScheduler(
    { intervalMs: 10_000, timeoutMs: 5000, failureThreshold: 3, successThreshold: 1, concurrency: 200, retryBackoffMs: 500, tickMs: 50 },
    {
      now: () => now,
      random: (() => {
        // A fixed sequence instead of Math.random: the same phases every run.
        let seed = 42;
        return () => (seed = (seed * 9301 + 49297) % 233280) / 233280;
      })(),
      owns: () => true,
      probed: () => undefined,
      prefetch: (name) => loader.prefetch([name]),
      forget: (name) => loader.forget(name),
      createProber: async (c): Promise<Prober> => {
        await loader.load(c.metadata.name);
        return {
          close: () => undefined,
          probe: async () => {
            if (!firstProbe.has(c.metadata.name)) firstProbe.set(c.metadata.name, now);
            return ok;
          },
        };
      },
      // A registry that takes every write and answers none: no probe slot may wait on it.
      writeStatus: (name: string, status: ClusterStatus) => {
        writesStarted.push(name);
        return new Promise<Cluster>((resolve) => unanswered.push(() => resolve({ ...cluster(name), status })));
      },
      recordTransition: async () => undefined,
    },
  );
  const startedAt = now;
  scheduler.start();
  for (const c of fleet) scheduler.upsert(c);
  loader.flush();
  const settle = async () => {
    for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
  };
  return {
    scheduler,
    loader,
    firstProbe,
    batches,
    writesStarted,
    startedAt,
    /** The registry answers every write at last, and the scheduler stops. */
    async finish() {
      for (const answer of unanswered.splice(0)) answer();
      await scheduler.stop();
      loader.stop();
    },
    /** Moves the fake clock tick by tick, letting the probes run between ticks. */
    async advance(ms: number) {
      for (let t = 0; t < ms; t += 50) {
        now += 50;
        scheduler.tick();
        await settle();
      }
    },
  };
}

describe('cold start: a replica taking 2,000 clusters at once', () => {
  const N = 2000;

  it('probes every cluster once within the first interval, with credentials read in batches and no status write answered', async () => {
    const fleet = Array.from({ length: N }, (_, i) => cluster(`c-${i}`, i === 7 ? { [PROBE_INTERVAL_ANNOTATION]: '1h' } : {}));
    const h = coldStart(fleet);
    await h.advance(10_050);
    await h.finish();

    expect(h.firstProbe.size).toBe(N);
    const latest = Math.max(...h.firstProbe.values()) - h.startedAt;
    expect(latest).toBeLessThanOrEqual(10_050);
    // The cluster with a one-hour interval is not left for an hour: it starts within the fleet's interval.
    expect(h.firstProbe.get('c-7')! - h.startedAt).toBeLessThanOrEqual(10_050);
    // 2,000 clusters, 500 a call: four registry reads, not 2,000.
    expect(h.batches).toEqual([500, 500, 500, 500]);
    // Every first probe found a status to write, and none of those writes was answered.
    expect(h.writesStarted).toHaveLength(N);
  });

  it('spreads the first probes over the interval instead of starting them all at once', async () => {
    const h = coldStart(Array.from({ length: N }, (_, i) => cluster(`c-${i}`)));
    await h.advance(10_050);
    await h.finish();
    const perSecond = new Array<number>(11).fill(0);
    for (const at of h.firstProbe.values()) perSecond[Math.floor((at - h.startedAt) / 1000)]!++;
    // About 200 a second; no second carries more than twice its share.
    expect(Math.max(...perSecond)).toBeLessThanOrEqual((2 * N) / 10);
  });

  it('a cluster taken over after the first interval is probed within 5 s, its credentials read in a batch of its own', async () => {
    const h = coldStart([cluster('c-0')]);
    await h.advance(12_000);
    h.scheduler.upsert(cluster('late'));
    h.loader.flush();
    const takenAt = h.startedAt + 12_000;
    await h.advance(5_050);
    await h.finish();
    expect(h.firstProbe.get('late')! - takenAt).toBeLessThanOrEqual(5_050);
    expect(h.batches).toEqual([1, 1]);
  });
});
