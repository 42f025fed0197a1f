import { CLUSTER_API_VERSION, Cluster, HealthReason, HealthState, ProbeObservation, findCondition, initialHealthState } from '@flotilla/domain';
import {
  classifyAttempt,
  decideAfterProbe,
  firstProbeAt,
  healthLabel,
  isProbeable,
  laneFor,
  nextProbeAt,
  probeIntervalFor,
  refetchCredentials,
  resultKind,
} from './probe-policy';

// Pure functions: no scheduler, no timers, no clock but the numbers passed in.

const ok: ProbeObservation = { reachable: true, readinessStatus: 200, readinessEndpoint: '/readyz', kubeSystemUid: 'u', nodeCount: 3, kubernetesVersion: 'v1.30.4', durationMs: 1 };
const down: ProbeObservation = { reachable: false, errorCode: 'ECONNREFUSED', durationMs: 1 };
const hysteresis = { failureThreshold: 3, successThreshold: 2 };
const policy = { ...hysteresis, intervalMs: 10_000, retryBackoffMs: 500 };
const at = new Date('2026-11-27T10:00:00Z');

function cluster(ready: 'True' | 'False' | 'Unknown' = 'True', extra: Partial<Cluster['metadata']> = {}): Cluster {
  return {
    apiVersion: CLUSTER_API_VERSION,
    kind: 'Cluster',
    metadata: { name: 'm', uid: 'uid-m', generation: 1, ...extra },
    spec: { connection: { type: 'direct' } },
    status: {
      uid: 'u',
      kubernetesVersion: 'v1.30.4',
      nodeCount: 3,
      conditions: [
        { type: 'Initialized', status: 'True', reason: 'Imported' },
        { type: 'Ready', status: ready, reason: ready === 'True' ? 'ClusterReady' : 'ClusterNotReachable', message: ready === 'True' ? 'The API server is reachable and ready.' : 'down' },
      ],
    },
  };
}

/** Runs probes through the policy as the cycle does, returning the transitions and writes. */
function run(start: Cluster, observations: (ProbeObservation | 'no-credentials')[]) {
  let c = start;
  const ready = findCondition(c.status?.conditions, 'Ready');
  let health: HealthState = initialHealthState(ready?.status ?? 'Unknown', ready?.reason, ready?.message);
  const transitions: string[] = [];
  let writes = 0;
  for (const o of observations) {
    const attempt = o === 'no-credentials' ? { credentialsUnusable: true as const } : { observation: o };
    const classification = classifyAttempt(attempt, c.status?.uid);
    const d = decideAfterProbe({ cluster: c, health, classification, ...(o === 'no-credentials' ? {} : { observation: o }), at }, hysteresis);
    health = d.health;
    if (d.transition) transitions.push(`${d.transition.from}->${d.transition.to}:${d.transition.reason}`);
    if (d.write) {
      writes++;
      c = { ...c, status: d.status };
    }
  }
  return { transitions, writes, health, cluster: c };
}

describe('probe policy: what an outcome means', () => {
  it('probes only imported clusters that are not being deleted', () => {
    expect(isProbeable(cluster())).toBe(true);
    expect(isProbeable(cluster('True', { deletionTimestamp: at.toISOString() }))).toBe(false);
    expect(isProbeable({ ...cluster(), status: { conditions: [{ type: 'Initialized', status: 'False' }] } })).toBe(false);
  });

  it('classifies unusable stored credentials as InvalidCredentials, telling the user to update the kubeconfig, and fetches them again', () => {
    const c = classifyAttempt({ credentialsUnusable: true }, 'u');
    expect(c).toMatchObject({ verdict: 'failure', reachable: false, reason: HealthReason.InvalidCredentials, message: expect.stringContaining('update it') });
    expect(resultKind(c)).toBe('error');
    expect(refetchCredentials(c)).toBe(true);
  });

  it('labels each result and keeps the credentials unless the member refused them', () => {
    const kinds = [ok, down, { ...ok, readinessStatus: 500 }, { ...ok, httpStatus: 401, httpPath: '/version' }, { ...ok, kubeSystemUid: 'other' }, { ...ok, httpStatus: 503 }].map((o) => {
      const c = classifyAttempt({ observation: o }, 'u');
      return [resultKind(c), refetchCredentials(c)];
    });
    expect(kinds).toEqual([
      ['success', false],
      ['unreachable', false],
      ['not_ready', false],
      ['unauthorized', true],
      ['identity_mismatch', false],
      ['error', false],
    ]);
  });

  it('puts a cluster whose last probe failed in the suspect lane', () => {
    expect(laneFor(undefined)).toBe('main');
    expect(laneFor('success')).toBe('main');
    expect(laneFor('unreachable')).toBe('suspect');
    expect(laneFor('error')).toBe('suspect');
  });
});

describe('probe policy: when a transition happens and what is written', () => {
  it('needs failureThreshold failures in a row to flip a Ready cluster, and writes only then', () => {
    expect(run(cluster(), [down, down])).toMatchObject({ transitions: [], writes: 0 });
    const flipped = run(cluster(), [down, down, down]);
    expect(flipped.transitions).toEqual(['True->False:ClusterNotReachable']);
    expect(flipped.writes).toBe(1);
    // Facts of the last good probe stay on a failure.
    expect(flipped.cluster.status).toMatchObject({ kubernetesVersion: 'v1.30.4', nodeCount: 3 });
    expect(findCondition(flipped.cluster.status?.conditions, 'Ready')).toMatchObject({ status: 'False', reason: 'ClusterNotReachable' });
  });

  it('a blip below the threshold never flips, and a success resets the count', () => {
    expect(run(cluster(), [down, down, ok, down, down, ok])).toMatchObject({ transitions: [], writes: 0 });
  });

  it('needs successThreshold successes to recover', () => {
    const r = run(cluster('False'), [ok, ok]);
    expect(r.transitions).toEqual(['False->True:ClusterReady']);
    expect(run(cluster('False'), [ok]).transitions).toEqual([]);
  });

  it('flips at once on an identity mismatch, and marks the cluster', () => {
    const r = run(cluster(), [{ ...ok, kubeSystemUid: 'impostor' }]);
    expect(r.transitions).toEqual(['True->False:IdentityMismatch']);
    expect(findCondition(r.cluster.status?.conditions, 'IdentityMismatch')).toMatchObject({ status: 'True', message: expect.stringContaining('impostor') });
    expect(r.cluster.status?.uid).toBe('u');
  });

  it('publishes a change of failure reason while False', () => {
    expect(run(cluster('False'), [{ ...ok, httpStatus: 403 }]).transitions).toEqual(['False->False:Unauthorized']);
  });

  it('takes the first verdict at once for a cluster in Unknown', () => {
    expect(run(cluster('Unknown'), [down]).transitions).toEqual(['Unknown->False:ClusterNotReachable']);
  });

  it('writes nothing for a probe that changes nothing', () => {
    expect(run(cluster(), [ok, ok, ok])).toMatchObject({ transitions: [], writes: 0 });
  });

  it('reports a client certificate expiring within seven days of the probe', () => {
    const soon = new Date(at.getTime() + 6 * 24 * 3600 * 1000);
    const later = new Date(at.getTime() + 30 * 24 * 3600 * 1000);
    const h = initialHealthState('True', 'ClusterReady', 'The API server is reachable and ready.');
    const classification = classifyAttempt({ observation: ok }, 'u');
    const expiring = decideAfterProbe({ cluster: cluster(), health: h, classification, observation: ok, certNotAfter: soon, at }, hysteresis);
    expect(findCondition(expiring.status.conditions, 'KubeConfigCertExpiresInSevenDays')).toMatchObject({ status: 'True', reason: 'CertificateExpiresSoon' });
    expect(expiring.write).toBe(true);
    const valid = decideAfterProbe({ cluster: cluster(), health: h, classification, observation: ok, certNotAfter: later, at }, hysteresis);
    expect(findCondition(valid.status.conditions, 'KubeConfigCertExpiresInSevenDays')).toMatchObject({ status: 'False', reason: 'CertificateValid' });
  });

  it('counts clusters by state for the gauge', () => {
    expect(healthLabel(initialHealthState('True'))).toBe('ready');
    expect(healthLabel(initialHealthState('Unknown'))).toBe('unknown');
    expect(healthLabel(initialHealthState('False', HealthReason.ClusterNotReachable))).toBe('unreachable');
    expect(healthLabel(initialHealthState('False', HealthReason.Unauthorized))).toBe('unauthorized');
    expect(healthLabel(initialHealthState('False', HealthReason.IdentityMismatch))).toBe('identity_mismatch');
    expect(healthLabel(initialHealthState('False', HealthReason.ClusterUnhealthy))).toBe('not_ready');
  });
});

describe('probe policy: cadence and retries', () => {
  const steady = initialHealthState('True');
  const failing = (n: number, ready: 'True' | 'False' = 'True'): HealthState => ({ ...initialHealthState(ready), consecutiveFailures: n });

  it('keeps a fixed rate: the next probe is due one interval after this one was due, not after it ended', () => {
    expect(nextProbeAt({ health: steady, intervalMs: 10_000, due: 100_000, startedAt: 100_010, now: 100_300 }, policy)).toBe(110_000);
  });

  it('probes at once when the next due time has already passed, unless the probe started more than half an interval late', () => {
    // Started on time, ran past its next due time: due again now.
    expect(nextProbeAt({ health: steady, intervalMs: 10_000, due: 100_000, startedAt: 100_000, now: 112_000 }, policy)).toBe(112_000);
    // Started 6 s late (more than half of 10 s): a new phase, one interval from now, never a quick second probe.
    expect(nextProbeAt({ health: steady, intervalMs: 10_000, due: 100_000, startedAt: 106_000, now: 106_050 }, policy)).toBe(116_050);
    // 4 s late keeps the phase.
    expect(nextProbeAt({ health: steady, intervalMs: 10_000, due: 100_000, startedAt: 104_000, now: 104_050 }, policy)).toBe(110_000);
  });

  it('retries after a failure with a backoff counted from now, doubling; back on the phase at the interval once False or once capped', () => {
    const next = (h: HealthState, intervalMs = 10_000, config = policy) => nextProbeAt({ health: h, intervalMs, due: 100_000, startedAt: 100_000, now: 100_200 }, config);
    expect([next(failing(1)), next(failing(2))]).toEqual([100_200 + 500, 100_200 + 1000]);
    // Confirmed dead (False at the threshold): the full interval on its phase.
    expect(next(failing(3, 'False'))).toBe(110_000);
    // Below the threshold but a long run of failures: the backoff is capped at the interval.
    expect(next(failing(5), 10_000, { ...policy, failureThreshold: 10 })).toBe(100_200 + 8000);
    expect(next(failing(6), 10_000, { ...policy, failureThreshold: 10 })).toBe(110_000);
    // A cluster whose interval is shorter than the backoff retries within its interval.
    expect(next(failing(1), 300)).toBe(100_300);
  });

  it('reads a per-cluster interval from its annotation, falling back to the default on a bad value', () => {
    const annotated = (v: string) => cluster('True', { annotations: { 'health.flotilla.io/probe-interval': v } });
    expect(probeIntervalFor(annotated('30s'), 10_000)).toBe(30_000);
    expect(probeIntervalFor(annotated('2m'), 10_000)).toBe(120_000);
    expect(probeIntervalFor(annotated('soon'), 10_000)).toBe(10_000);
    expect(probeIntervalFor(cluster(), 10_000)).toBe(10_000);
  });

  it('spreads first probes over the whole interval while the scheduler starts, then over min(interval, 5 s)', () => {
    const first = (now: number, random: number, intervalMs = 10_000) => firstProbeAt({ now, schedulerStartedAt: 0, defaultIntervalMs: 10_000, intervalMs, random }) - now;
    expect(first(1000, 0.99)).toBe(9900);
    expect(first(60_000, 0.99)).toBe(4950);
    expect(first(60_000, 0.99, 2000)).toBe(1980);
    expect(first(60_000, 0)).toBe(0);
    expect(firstProbeAt({ now: 60_000, schedulerStartedAt: 0, defaultIntervalMs: 10_000, intervalMs: 10_000, spreadMs: 1, random: 0.99 })).toBe(60_000);
  });
});
