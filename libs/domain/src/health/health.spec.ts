import {
  HealthReason,
  HealthState,
  ProbeObservation,
  advanceHealth,
  classifyProbe,
  initialHealthState,
  nextProbeDelay,
  parseProbeInterval,
} from './health';

const ok: ProbeObservation = { reachable: true, readinessStatus: 200, readinessEndpoint: '/readyz', kubeSystemUid: 'u1', durationMs: 3 };
const down: ProbeObservation = { reachable: false, errorCode: 'ECONNREFUSED', durationMs: 1 };
const cfg = { failureThreshold: 3, successThreshold: 1, intervalMs: 10_000, retryBackoffMs: 1000 };

function run(state: HealthState, observations: ProbeObservation[], expectedUid = 'u1') {
  const transitions: string[] = [];
  for (const o of observations) {
    const r = advanceHealth(state, classifyProbe(o, expectedUid), cfg);
    state = r.state;
    if (r.transition) transitions.push(`${r.transition.from}->${r.transition.to}:${r.transition.reason}`);
  }
  return { state, transitions };
}

describe('classifyProbe', () => {
  it('keeps reachable and healthy apart', () => {
    expect(classifyProbe(down, 'u1')).toMatchObject({ verdict: 'failure', reachable: false, healthy: false, reason: HealthReason.ClusterNotReachable });
    const notReady = classifyProbe({ ...ok, readinessStatus: 500, readinessDetail: '[-]etcd failed' }, 'u1');
    expect(notReady).toMatchObject({ verdict: 'failure', reachable: true, healthy: false, reason: HealthReason.ClusterNotReady });
    expect(notReady.message).toContain('[-]etcd failed');
    expect(classifyProbe(ok, 'u1')).toMatchObject({ verdict: 'success', reachable: true, healthy: true, reason: HealthReason.ClusterReady });
  });

  it('names refused credentials, a changed identity and server errors', () => {
    expect(classifyProbe({ ...ok, readinessStatus: 401 }, 'u1').reason).toBe(HealthReason.Unauthorized);
    expect(classifyProbe({ ...ok, httpStatus: 403, httpPath: '/api/v1/nodes' }, 'u1').reason).toBe(HealthReason.Unauthorized);
    expect(classifyProbe({ ...ok, kubeSystemUid: 'other' }, 'u1').reason).toBe(HealthReason.IdentityMismatch);
    expect(classifyProbe({ ...ok, kubeSystemUid: 'other' }, undefined).reason).toBe(HealthReason.ClusterReady);
    expect(classifyProbe({ ...ok, httpStatus: 503, httpPath: '/version' }, 'u1').reason).toBe(HealthReason.ClusterUnhealthy);
  });
});

describe('advanceHealth', () => {
  it('flips a Ready cluster only after the failure threshold, and only once', () => {
    const r = run(initialHealthState('True', HealthReason.ClusterReady), [down, down, down, down, down]);
    expect(r.transitions).toEqual(['True->False:ClusterNotReachable']);
    expect(r.state.ready).toBe('False');
  });

  it('never flips on a blip shorter than the threshold', () => {
    const r = run(initialHealthState('True', HealthReason.ClusterReady), [ok, down, ok, down, down, ok, down, ok]);
    expect(r.transitions).toEqual([]);
    expect(r.state.ready).toBe('True');
  });

  it('recovers after the success threshold', () => {
    const two = { ...cfg, successThreshold: 2 };
    let s = initialHealthState('False', HealthReason.ClusterNotReachable);
    let t = advanceHealth(s, classifyProbe(ok, 'u1'), two);
    expect(t.transition).toBeUndefined();
    s = t.state;
    t = advanceHealth(s, classifyProbe(ok, 'u1'), two);
    expect(t.transition).toMatchObject({ from: 'False', to: 'True', reason: HealthReason.ClusterReady });
  });

  it('publishes a change of failure reason while False, but not a repeat', () => {
    const r = run(initialHealthState('False', HealthReason.ClusterNotReachable), [down, { ...ok, readinessStatus: 401 }, { ...ok, readinessStatus: 401 }]);
    expect(r.transitions).toEqual(['False->False:Unauthorized']);
  });

  it('flips at once on an identity mismatch', () => {
    const r = run(initialHealthState('True', HealthReason.ClusterReady), [{ ...ok, kubeSystemUid: 'u2' }]);
    expect(r.transitions).toEqual(['True->False:IdentityMismatch']);
  });

  it('takes the first verdict at once when the state is Unknown', () => {
    expect(run(initialHealthState(), [down]).transitions).toEqual(['Unknown->False:ClusterNotReachable']);
    expect(run(initialHealthState(), [ok]).transitions).toEqual(['Unknown->True:ClusterReady']);
  });
});

describe('nextProbeDelay', () => {
  it('retries sooner after a failure, doubling up to the interval, then returns to the interval once False', () => {
    let s = initialHealthState('True', HealthReason.ClusterReady);
    expect(nextProbeDelay(s, cfg)).toBe(10_000);
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      s = advanceHealth(s, classifyProbe(down, 'u1'), cfg).state;
      delays.push(nextProbeDelay(s, cfg));
    }
    expect(delays).toEqual([1000, 2000, 10_000, 10_000, 10_000, 10_000]);
    expect(delays.slice(0, 2).reduce((a, b) => a + b, 0)).toBeLessThan(cfg.intervalMs);
  });
});

describe('parseProbeInterval', () => {
  it('accepts ms, s and m within bounds', () => {
    expect(parseProbeInterval('30s')).toBe(30_000);
    expect(parseProbeInterval('2m')).toBe(120_000);
    expect(parseProbeInterval('5000')).toBe(5000);
    expect(parseProbeInterval('5')).toBeUndefined();
    expect(parseProbeInterval('soon')).toBeUndefined();
    expect(parseProbeInterval(undefined)).toBeUndefined();
  });
});
