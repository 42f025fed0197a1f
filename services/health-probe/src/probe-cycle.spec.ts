import { CLUSTER_API_VERSION, Cluster, ClusterStatus, ErrorReason, FlotillaError, ProbeObservation, findCondition, initialHealthState } from '@flotilla/domain';
import { ProbeCycle, ProbeCycleDeps, ProbeTarget, Prober, REPLICA_FAULT } from './probe-cycle';

// The cycle with a fixed clock and fake collaborators: no timers, no I/O.

const ok: ProbeObservation = { reachable: true, readinessStatus: 200, readinessEndpoint: '/readyz', kubeSystemUid: 'u', nodeCount: 2, kubernetesVersion: 'v1.30.4', durationMs: 1 };
const down: ProbeObservation = { reachable: false, errorCode: 'ECONNREFUSED', durationMs: 1 };
const NOW = Date.parse('2026-11-27T10:00:00Z');

function target(ready: 'True' | 'False' | 'Unknown' = 'True'): ProbeTarget {
  const cluster: Cluster = {
    apiVersion: CLUSTER_API_VERSION,
    kind: 'Cluster',
    metadata: { name: 'm', uid: 'uid-m', generation: 1 },
    spec: { connection: { type: 'direct' } },
    status: {
      uid: 'u',
      kubernetesVersion: 'v1.30.4',
      nodeCount: 2,
      conditions: [
        { type: 'Initialized', status: 'True' },
        { type: 'Ready', status: ready, reason: 'ClusterReady', message: 'The API server is reachable and ready.' },
      ],
    },
  };
  return { name: 'm', cluster, health: initialHealthState(ready, 'ClusterReady', 'The API server is reachable and ready.') };
}

function harness(answers: (ProbeObservation | Error)[]) {
  const log: string[] = [];
  const errors: string[] = [];
  let probers = 0;
  const deps: ProbeCycleDeps & { failEvent?: boolean; failWrite?: boolean } = {
    now: () => NOW,
    probed: (name, at) => void log.push(`probed:${name}:${at.toISOString()}`),
    createProber: async (): Promise<Prober> => {
      probers++;
      return {
        close: () => void log.push('close'),
        probe: async () => {
          const a = answers.shift() ?? ok;
          if (a instanceof Error) throw a;
          return a;
        },
      };
    },
    recordTransition: async (c, t) => {
      log.push(`event:start:${c.metadata.name}:${t.from}->${t.to}:${t.reason}`);
      await Promise.resolve();
      if (deps.failEvent) throw new Error('registry unavailable');
      log.push('event:stored');
    },
    writeStatus: async (name, status: ClusterStatus) => {
      log.push(`write:${findCondition(status.conditions, 'Ready')?.status}`);
      if (deps.failWrite) throw new Error('registry unavailable');
      return { ...target().cluster, metadata: { ...target().cluster.metadata, resourceVersion: '2' }, status };
    },
    onError: (name, stage) => void errors.push(`${name}:${stage}`),
  };
  return { deps, log, errors, probers: () => probers, cycle: new ProbeCycle({ failureThreshold: 3, successThreshold: 1 }, deps) };
}

describe('ProbeCycle', () => {
  it('a registry that cannot hand out the credentials (down, timing out) changes nothing; credentials it returned that cannot be used make InvalidCredentials', async () => {
    const h = harness([]);
    const t = target();
    for (const reason of [ErrorReason.ServiceUnavailable, ErrorReason.Timeout, ErrorReason.ServiceUnavailable]) {
      h.deps.createProber = async () => {
        throw new FlotillaError(reason, 'the registry service is unavailable; retry shortly');
      };
      await h.cycle.run(t, () => true);
    }
    expect(h.log).toEqual([]);
    expect(t.health).toMatchObject({ ready: 'True', consecutiveFailures: 0 });
    h.deps.createProber = async () => {
      throw new Error('the kubeconfig names no user');
    };
    for (let i = 0; i < 3; i++) await h.cycle.run(t, () => true);
    expect(h.log.filter((l) => !l.startsWith('probed'))).toEqual(['event:start:m:True->False:InvalidCredentials', 'event:stored', 'write:False']);
  });

  it('records a transition before it writes the status that shows it, so whoever sees the status finds its event', async () => {
    const h = harness([down, down, down]);
    const t = target();
    for (let i = 0; i < 3; i++) await h.cycle.run(t, () => true);
    expect(h.log.filter((l) => !l.startsWith('probed'))).toEqual(['event:start:m:True->False:ClusterNotReachable', 'event:stored', 'write:False']);
    expect(t.health).toMatchObject({ ready: 'False', reason: 'ClusterNotReachable', consecutiveFailures: 3 });
    expect(t.cluster.metadata.resourceVersion).toBe('2'); // it now holds what the registry returned
    expect(h.log.filter((l) => l.startsWith('probed'))).toEqual(Array(3).fill(`probed:m:${new Date(NOW).toISOString()}`));
  });

  it('writes the status even when the event cannot be recorded, and says so', async () => {
    const h = harness([down]);
    h.deps.failEvent = true;
    const t = target('Unknown');
    await h.cycle.run(t, () => true);
    expect(h.log).toContain('write:False');
    expect(h.errors).toEqual(['m:event']);
  });

  it('writes again on the next probe after a failed write, without a second event', async () => {
    const h = harness([down, down]);
    h.deps.failWrite = true;
    const t = target('Unknown');
    await h.cycle.run(t, () => true);
    h.deps.failWrite = false;
    await h.cycle.run(t, () => true);
    expect(h.log.filter((l) => l.startsWith('event:start'))).toHaveLength(1);
    expect(h.log.filter((l) => l.startsWith('write'))).toEqual(['write:False', 'write:False']);
    expect(h.errors).toEqual(['m:write']);
    expect(findCondition(t.cluster.status?.conditions, 'Ready')).toMatchObject({ status: 'False' });
  });

  it('turns unusable credentials into InvalidCredentials and builds a new prober for the next probe', async () => {
    const h = harness([new Error('bad kubeconfig'), ok]);
    const t = target('Unknown');
    await h.cycle.run(t, () => true);
    expect(t.health).toMatchObject({ ready: 'False', reason: 'InvalidCredentials' });
    expect(t.lastKind).toBe('error');
    expect(t.prober).toBeUndefined();
    expect(h.errors).toEqual(['m:credentials']);
    await h.cycle.run(t, () => true);
    expect(h.probers()).toBe(2);
    expect(t.health).toMatchObject({ ready: 'True', reason: 'ClusterReady' });
  });

  it('writes nothing, records nothing and reports no probe time for a cluster dropped while its probe ran', async () => {
    const h = harness([down]);
    const t = target('Unknown');
    await h.cycle.run(t, () => false);
    expect(h.log).toEqual([]);
    expect(t.lastKind).toBe('unreachable'); // the metric still counts the probe
  });

  it('does not count a timeout during which the replica itself stalled for half the timeout; a refusal, or a timeout without a stall, counts (ADR 0039)', async () => {
    const timedOut: ProbeObservation = { reachable: false, errorCode: 'ETIMEDOUT', durationMs: 5000 };
    const h = harness([timedOut, timedOut, timedOut, down, timedOut, timedOut]);
    let stalled = 2500;
    const spans: number[] = [];
    const inconclusive: string[] = [];
    h.deps.stalledSince = (since) => {
      spans.push(performance.now() - since);
      return stalled;
    };
    h.deps.inconclusive = (name) => void inconclusive.push(name);
    const cycle = new ProbeCycle({ failureThreshold: 3, successThreshold: 1, timeoutMs: 5000 }, h.deps);
    const t = target();
    for (let i = 0; i < 3; i++) await cycle.run(t, () => true);
    expect(inconclusive).toEqual(['m', 'm', 'm']);
    expect(h.log).toEqual([]); // no probe time, no event, no write
    expect(t.health).toMatchObject({ ready: 'True', consecutiveFailures: 0 });
    expect(t.lastKind).toBeUndefined();
    // The span asked about is the probe's own (its duration), not the time since the cycle began.
    for (const span of spans) expect(span).toBeGreaterThanOrEqual(5000);
    for (const span of spans) expect(span).toBeLessThan(6000);
    // A refusal is the member's answer, stall or not.
    await cycle.run(t, () => true);
    expect(t.health).toMatchObject({ consecutiveFailures: 1 });
    // A stall of less than half the timeout: the timeout counts.
    stalled = 2499;
    await cycle.run(t, () => true);
    await cycle.run(t, () => true);
    expect(inconclusive).toHaveLength(3);
    expect(t.health).toMatchObject({ ready: 'False', reason: 'ClusterNotReachable', consecutiveFailures: 3 });
  });

  it('does not count a probe the replica could not run, nor a timeout while the worker that ran it stalled (ADR 0040)', async () => {
    const timedOut: ProbeObservation = { reachable: false, errorCode: 'ETIMEDOUT', durationMs: 5000 };
    const answers: { o: ProbeObservation; stalledMs?: number }[] = [
      { o: { reachable: false, errorCode: REPLICA_FAULT, durationMs: 0 } },
      { o: timedOut, stalledMs: 2500 },
      { o: timedOut, stalledMs: 2499 },
    ];
    const inconclusive: string[] = [];
    const h = harness([]);
    const prober: Prober & { stalledMs?: number } = {
      close: () => undefined,
      probe: async () => {
        const a = answers.shift()!;
        prober.stalledMs = a.stalledMs;
        return a.o;
      },
    };
    h.deps.createProber = async () => prober;
    h.deps.inconclusive = (name) => void inconclusive.push(name);
    // The main loop did not stall: only the worker's own stall can excuse the timeout.
    h.deps.stalledSince = () => 0;
    const cycle = new ProbeCycle({ failureThreshold: 1, successThreshold: 1, timeoutMs: 5000 }, h.deps);
    const t = target();
    await cycle.run(t, () => true);
    await cycle.run(t, () => true);
    expect(inconclusive).toEqual(['m', 'm']);
    expect(h.log).toEqual([]);
    expect(t.health).toMatchObject({ ready: 'True', consecutiveFailures: 0 });
    await cycle.run(t, () => true);
    expect(inconclusive).toHaveLength(2);
    expect(t.health).toMatchObject({ ready: 'False', reason: 'ClusterNotReachable' });
  });

  it('writes nothing when a probe changes nothing', async () => {
    const h = harness([ok, ok]);
    const t = target();
    await h.cycle.run(t, () => true);
    await h.cycle.run(t, () => true);
    expect(h.log.filter((l) => !l.startsWith('probed'))).toEqual([]);
  });
});
