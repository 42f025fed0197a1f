import { ClusterStatus } from '../cluster/cluster';
import { HealthReason, ProbeObservation, initialHealthState } from './health';
import { statusAfterProbe, statusDiffers } from './health-status';

const ok: ProbeObservation = { reachable: true, readinessStatus: 200, kubernetesVersion: 'v1.30.4', nodeCount: 3, zones: ['a', 'b'], region: 'r', kubeSystemUid: 'u1', durationMs: 1 };
const current: ClusterStatus = {
  uid: 'u1',
  kubernetesVersion: 'v1.29.0',
  nodeCount: 2,
  conditions: [
    { type: 'Initialized', status: 'True', reason: 'Imported', lastTransitionTime: '2026-01-01T00:00:00Z' },
    { type: 'Ready', status: 'True', reason: 'ClusterReady', message: 'm', lastTransitionTime: '2026-01-01T00:00:00Z' },
  ],
};

describe('statusAfterProbe', () => {
  it('takes facts from a successful probe and keeps other conditions', () => {
    const s = statusAfterProbe({ current, health: initialHealthState('True', 'ClusterReady', 'm'), observation: ok, identityMismatch: false });
    expect(s).toMatchObject({ uid: 'u1', kubernetesVersion: 'v1.30.4', nodeCount: 3, zones: ['a', 'b'], region: 'r' });
    expect(s.conditions?.map((c) => c.type)).toEqual(['Initialized', 'Ready']);
  });

  it('keeps the last good facts on a failed probe and writes the Ready verdict', () => {
    const health = { ...initialHealthState('False', HealthReason.ClusterNotReachable, 'gone'), consecutiveFailures: 3 };
    const s = statusAfterProbe({ current, health, observation: { reachable: false, durationMs: 1 }, identityMismatch: false });
    expect(s).toMatchObject({ kubernetesVersion: 'v1.29.0', nodeCount: 2 });
    expect(s.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ClusterNotReachable', message: 'gone' });
  });

  it('records the first UID seen but never overwrites one, and marks a mismatch', () => {
    const first = statusAfterProbe({ current: { conditions: [] }, health: initialHealthState('True'), observation: ok, identityMismatch: false });
    expect(first.uid).toBe('u1');
    const swapped = statusAfterProbe({ current, health: initialHealthState('False', HealthReason.IdentityMismatch), observation: { ...ok, kubeSystemUid: 'u2', nodeCount: 9 }, identityMismatch: true });
    expect(swapped.uid).toBe('u1');
    expect(swapped.nodeCount).toBe(2);
    expect(swapped.conditions?.find((c) => c.type === 'IdentityMismatch')).toMatchObject({ status: 'True', reason: 'KubeSystemUIDChanged' });
    const healed = statusAfterProbe({ current: swapped, health: initialHealthState('True'), observation: ok, identityMismatch: false });
    expect(healed.conditions?.find((c) => c.type === 'IdentityMismatch')).toMatchObject({ status: 'False' });
  });

  it('a readiness-only probe (no inventory, ADR 0038) keeps the stored facts and never clears an identity mismatch', () => {
    const light: ProbeObservation = { reachable: true, readinessStatus: 200, readinessOnly: true, durationMs: 1 };
    const swapped = statusAfterProbe({ current, health: initialHealthState('False', HealthReason.IdentityMismatch), observation: { ...ok, kubeSystemUid: 'u2' }, identityMismatch: true });
    const after = statusAfterProbe({ current: swapped, health: initialHealthState('True'), observation: light, identityMismatch: false });
    expect(after).toMatchObject({ uid: 'u1', kubernetesVersion: 'v1.29.0', nodeCount: 2 });
    expect(after.conditions?.find((c) => c.type === 'IdentityMismatch')).toMatchObject({ status: 'True', reason: 'KubeSystemUIDChanged' });
  });

  it('sets KubeConfigCertExpiresInSevenDays from the client certificate', () => {
    const soon = statusAfterProbe({ current, health: initialHealthState('True'), observation: ok, identityMismatch: false, certExpiresSoon: true, certNotAfter: new Date('2026-02-01T00:00:00Z') });
    expect(soon.conditions?.find((c) => c.type === 'KubeConfigCertExpiresInSevenDays')).toMatchObject({ status: 'True', message: expect.stringContaining('2026-02-01') });
  });
});

describe('statusDiffers', () => {
  it('ignores condition timestamps and order, sees real changes', () => {
    const same = { ...current, conditions: [...current.conditions!].reverse().map((c) => ({ ...c, lastTransitionTime: 'x', lastUpdateTime: 'y' })) };
    expect(statusDiffers(current, same)).toBe(false);
    expect(statusDiffers(current, { ...current, nodeCount: 5 })).toBe(true);
    expect(statusDiffers(current, { ...current, conditions: [current.conditions![0], { ...current.conditions![1], reason: 'Other' }] })).toBe(true);
    expect(statusDiffers({ ...current, zones: [] }, current)).toBe(false);
  });
});
