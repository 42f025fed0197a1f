import { CLUSTER_API_VERSION, Cluster, ClusterStatus, ProbeObservation } from '@flotilla/domain';
import { ProbeScheduler, Prober, SchedulerDeps } from './scheduler';
import { rendezvousOwner } from '@flotilla/service-kit';
import { eventually } from '@flotilla/testing';

const ok = (uid = 'u'): ProbeObservation => ({ reachable: true, readinessStatus: 200, readinessEndpoint: '/readyz', kubeSystemUid: uid, nodeCount: 1, kubernetesVersion: 'v1.30.4', durationMs: 1 });
const down: ProbeObservation = { reachable: false, errorCode: 'ECONNREFUSED', durationMs: 1 };

function cluster(name: string, ready: 'True' | 'False' | 'Unknown' = 'True'): Cluster {
  return {
    apiVersion: CLUSTER_API_VERSION,
    kind: 'Cluster',
    metadata: { name, uid: `uid-${name}`, generation: 1 },
    spec: { connection: { type: 'direct' } },
    status: { uid: 'u', conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: ready, reason: 'ClusterReady' }] },
  };
}

/** A fake clock and probers whose answers the test controls; each probe settles when the test says. */
function harness(config: Partial<ConstructorParameters<typeof ProbeScheduler>[0]> = {}) {
  let now = 1_000_000;
  let halted = false;
  const behaviour = new Map<string, () => ProbeObservation | Promise<ProbeObservation>>();
  const inFlight = new Map<string, number>();
  let maxOverlap = 0;
  let running = 0;
  let maxRunning = 0;
  const writes: { name: string; status: ClusterStatus }[] = [];
  const transitions: string[] = [];
  const probes: string[] = [];
  const deps: SchedulerDeps = {
    now: () => now,
    owns: () => true,
    probed: () => undefined,
    createProber: async (c): Promise<Prober> => ({
      close: () => undefined,
      probe: async () => {
        const name = c.metadata.name;
        inFlight.set(name, (inFlight.get(name) ?? 0) + 1);
        maxOverlap = Math.max(maxOverlap, inFlight.get(name)!);
        running++;
        maxRunning = Math.max(maxRunning, running);
        probes.push(name);
        try {
          return await (behaviour.get(name) ?? (() => ok()))();
        } finally {
          running--;
          inFlight.set(name, inFlight.get(name)! - 1);
        }
      },
    }),
    writeStatus: async (name, status) => {
      writes.push({ name, status });
      return { ...cluster(name), status };
    },
    recordTransition: async (c, t) => void transitions.push(`${c.metadata.name}:${t.from}->${t.to}:${t.reason}`),
  };
  const s = new ProbeScheduler({ intervalMs: 10_000, timeoutMs: 1000, failureThreshold: 3, successThreshold: 1, concurrency: 2, retryBackoffMs: 1000, spreadMs: 1, tickMs: 10, ...config }, deps);
  const flush = () => new Promise((r) => setImmediate(r));
  return {
    s,
    behaviour,
    writes,
    transitions,
    probes,
    stats: () => ({ maxOverlap, maxRunning }),
    clock: () => now,
    /** Resolves once the fake clock reaches `t` (or the harness is halted). */
    until: (t: number) =>
      new Promise<void>((resolve) => {
        const check = () => (halted || now >= t ? resolve() : setImmediate(check));
        check();
      }),
    /** Releases every probe still waiting on the fake clock. */
    halt: () => void (halted = true),
    async advance(ms: number, step = 10) {
      for (let t = 0; t < ms; t += step) {
        now += step;
        s.tick();
        await flush();
        await flush();
      }
    },
  };
}

describe('ProbeScheduler', () => {
  it('probes every cluster on its interval and writes only transitions, never a repeat', async () => {
    const h = harness();
    for (const n of ['a', 'b', 'c']) h.s.upsert(cluster(n));
    await h.advance(35_000, 50);
    expect(h.probes.filter((p) => p === 'a').length).toBe(4); // t≈0, 10 s, 20 s, 30 s
    // The first probe adds version and node count; nothing changes afterwards, so nothing more is written.
    expect(h.writes.map((w) => w.name).sort()).toEqual(['a', 'b', 'c']);
    expect(h.transitions).toEqual([]);
  });

  it('keeps a fixed cadence: a slow probe does not push the next one back', async () => {
    const h = harness();
    const slow = () => h.until(h.clock() + 300).then(() => ok());
    h.behaviour.set('slow', slow);
    h.s.upsert(cluster('slow'));
    await h.advance(100_500, 50);
    // Due at t≈0, 10 s, ..., 100 s: 11 probes. Counting the interval from each probe's end
    // (10.3 s apart) would give 10.
    h.halt();
    expect(h.probes.filter((p) => p === 'slow').length).toBe(11);
  });

  it('never probes a cluster twice in quick succession to catch up after starting late', async () => {
    // One slot; the first probe of 'a' takes 20 s, so 'b' starts 20 s late.
    const h = harness({ concurrency: 1, slowAfterMs: 60_000 });
    const starts: number[] = [];
    let first = true;
    h.behaviour.set('a', () => {
      if (!first) return ok();
      first = false;
      return h.until(h.clock() + 20_000).then(() => ok());
    });
    h.behaviour.set('b', () => {
      starts.push(h.clock());
      return ok();
    });
    h.s.upsert(cluster('a'));
    await h.advance(20);
    h.s.upsert(cluster('b'));
    await h.advance(60_000, 50);
    h.halt();
    expect(starts[0]).toBeGreaterThanOrEqual(20_000);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    // Catching up on the missed slot would probe 'b' again at once; it takes a new phase instead.
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(5000);
    expect(starts.length).toBeGreaterThanOrEqual(4);
  });

  it('confirms a dead cluster within seconds through the retry backoff, then returns to the interval', async () => {
    const h = harness();
    h.s.upsert(cluster('dead'));
    await h.advance(100);
    h.behaviour.set('dead', () => down);
    await h.advance(10_000 + 3000 + 200, 50);
    expect(h.transitions).toEqual(['dead:True->False:ClusterNotReachable']);
    const count = h.probes.length;
    await h.advance(9000, 100);
    expect(h.probes.length).toBe(count); // once False, back to the full interval
  });

  it('never overlaps probes of one cluster and bounds concurrency; a hanging cluster delays no other', async () => {
    const h = harness({ concurrency: 2, intervalMs: 1000, retryBackoffMs: 100, slowAfterMs: 60_000 });
    let release!: () => void;
    const hung = new Promise<ProbeObservation>((resolve) => (release = () => resolve(down)));
    h.behaviour.set('hung', () => hung);
    for (const n of ['hung', 'x', 'y', 'z']) h.s.upsert(cluster(n));
    await h.advance(5000, 10);
    // 'hung' occupies one slot for the whole time; the other three share the second one.
    expect(h.probes.filter((p) => p === 'hung').length).toBe(1);
    for (const n of ['x', 'y', 'z']) expect(h.probes.filter((p) => p === n).length).toBeGreaterThanOrEqual(4);
    expect(h.stats()).toEqual({ maxOverlap: 1, maxRunning: 2 });
    release();
    await h.advance(100);
  });

  it('moves a probe that hangs to the suspect lane, so that it holds no slot of the answering clusters', async () => {
    // One main-lane slot: without the suspect lane, the hanging probe would hold it for good.
    const h = harness({ concurrency: 1, suspectConcurrency: 1, slowAfterMs: 500, intervalMs: 1000, retryBackoffMs: 100 });
    let release!: () => void;
    h.behaviour.set('hung', () => new Promise<ProbeObservation>((resolve) => (release = () => resolve(down))));
    for (const n of ['hung', 'x', 'y']) h.s.upsert(cluster(n));
    await h.advance(5000, 10);
    expect(h.s.load()).toMatchObject({ suspect: { inFlight: 1 } });
    for (const n of ['x', 'y']) expect(h.probes.filter((p) => p === n).length).toBeGreaterThanOrEqual(4);
    expect(h.stats().maxOverlap).toBe(1);
    // Its next probe, after the failure, is queued in the suspect lane from the start.
    release();
    await h.advance(50, 10);
    h.behaviour.set('hung', () => new Promise<ProbeObservation>(() => undefined));
    await h.advance(200, 10);
    expect(h.s.load()).toMatchObject({ main: { inFlight: expect.any(Number) }, suspect: { inFlight: 1 } });
    const before = h.probes.length;
    await h.advance(3000, 10);
    expect(h.probes.length - before).toBeGreaterThanOrEqual(4); // x and y go on
  });

  it('drops clusters it no longer owns and the removed ones', async () => {
    const h = harness();
    h.s.upsert(cluster('keep'));
    h.s.upsert(cluster('gone'));
    h.s.remove('gone');
    await h.advance(100);
    expect(h.probes).toEqual(['keep']);
    expect(h.s.size()).toBe(1);
  });
});

describe('ProbeScheduler.stop', () => {
  it('cuts the probes in flight short: members that hang do not hold the shutdown, and nothing is written after it', async () => {
    const writes: string[] = [];
    let closed = 0;
    const deps: SchedulerDeps = {
      owns: () => true,
      probed: () => undefined,
      // Each probe hangs until its prober is closed (then it fails as a reset connection would).
      createProber: async (): Promise<Prober> => {
        let cut!: () => void;
        const hung = new Promise<ProbeObservation>((resolve) => (cut = () => resolve({ reachable: false, errorCode: 'ECONNRESET', durationMs: 1 })));
        return {
          probe: () => hung,
          close: () => {
            closed++;
            cut();
          },
        };
      },
      writeStatus: async (name, status) => {
        writes.push(name);
        return { ...cluster(name), status };
      },
      recordTransition: async () => undefined,
    };
    const s = new ProbeScheduler({ intervalMs: 10_000, timeoutMs: 60_000, failureThreshold: 1, successThreshold: 1, concurrency: 5, retryBackoffMs: 1000, spreadMs: 1, tickMs: 10 }, deps);
    s.start();
    for (const n of ['a', 'b', 'c']) s.upsert(cluster(n));
    await eventually(() => expect(s.load().main.inFlight).toBe(3));
    await s.stop(); // without the cut it would wait for probes that never end
    expect(closed).toBeGreaterThanOrEqual(3);
    expect(writes).toEqual([]);
  });
});

describe('rendezvousOwner', () => {
  it('spreads clusters over replicas and moves only the dead replica\'s share', () => {
    const replicas = ['r1', 'r2', 'r3'];
    const names = Array.from({ length: 3000 }, (_, i) => `c-${i}`);
    const before = new Map(names.map((n) => [n, rendezvousOwner(n, replicas)!]));
    const counts = replicas.map((r) => [...before.values()].filter((o) => o === r).length);
    for (const c of counts) expect(c).toBeGreaterThan(800);
    const after = new Map(names.map((n) => [n, rendezvousOwner(n, ['r1', 'r3'])!]));
    for (const n of names) if (before.get(n) !== 'r2') expect(after.get(n)).toBe(before.get(n));
  });
});
