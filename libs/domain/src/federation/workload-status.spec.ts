import { summariseWorkload } from './workload-status';

const deployment = (status: Record<string, unknown>, replicas = 3, generation = 2) => ({ metadata: { name: 'web', generation }, spec: { replicas }, status });

describe('summariseWorkload: Deployment', () => {
  const done = { observedGeneration: 2, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 };

  it('is ready once observed, all updated, no old replicas, all available', () => {
    expect(summariseWorkload('Deployment', deployment(done))).toEqual({ replicas: 3, readyReplicas: 3, availableReplicas: 3, ready: true });
  });

  it('is not ready while the controller has not seen the spec, or rolls out, or waits for availability', () => {
    expect(summariseWorkload('Deployment', deployment({ ...done, observedGeneration: 1 }))).toMatchObject({ ready: false, reason: 'NotObserved' });
    expect(summariseWorkload('Deployment', deployment({ ...done, observedGeneration: undefined }))).toMatchObject({ ready: false, reason: 'NotObserved' });
    expect(summariseWorkload('Deployment', deployment({ ...done, updatedReplicas: 2 }))).toMatchObject({ ready: false, reason: 'RollingOut', message: '2 of 3 replicas updated' });
    expect(summariseWorkload('Deployment', deployment({ ...done, replicas: 4 }))).toMatchObject({ ready: false, reason: 'RollingOut', message: '1 old replicas pending termination' });
    expect(summariseWorkload('Deployment', deployment({ ...done, availableReplicas: 1, readyReplicas: 2 }))).toEqual({
      replicas: 3, readyReplicas: 2, availableReplicas: 1, ready: false, reason: 'NotAvailable', message: '1 of 3 replicas available',
    });
  });

  it('reports a progress deadline exceeded as failed', () => {
    const status = { ...done, updatedReplicas: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "web-1" has timed out progressing.' }] };
    expect(summariseWorkload('Deployment', deployment(status))).toMatchObject({ ready: false, failed: true, reason: 'ProgressDeadlineExceeded' });
  });

  it('defaults spec.replicas to 1 and a missing status to nothing ready; 0 replicas is ready once observed', () => {
    expect(summariseWorkload('Deployment', { metadata: { generation: 1 }, spec: {} })).toMatchObject({ replicas: 1, readyReplicas: 0, availableReplicas: 0, ready: false });
    expect(summariseWorkload('Deployment', deployment({ observedGeneration: 2 }, 0))).toMatchObject({ replicas: 0, ready: true });
  });
});

describe('summariseWorkload: StatefulSet', () => {
  const sts = (status: Record<string, unknown>) => ({ metadata: { generation: 1 }, spec: { replicas: 2 }, status });

  it('counts ready and available replicas (available defaults to ready)', () => {
    expect(summariseWorkload('StatefulSet', sts({ observedGeneration: 1, readyReplicas: 2, updatedReplicas: 2 }))).toEqual({ replicas: 2, readyReplicas: 2, availableReplicas: 2, ready: true });
    expect(summariseWorkload('StatefulSet', sts({ observedGeneration: 1, readyReplicas: 2, availableReplicas: 1 }))).toMatchObject({ ready: false, reason: 'NotAvailable' });
    expect(summariseWorkload('StatefulSet', sts({ observedGeneration: 1, readyReplicas: 1 }))).toMatchObject({ ready: false, reason: 'NotReady' });
    expect(summariseWorkload('StatefulSet', sts({ observedGeneration: 1, readyReplicas: 2, updatedReplicas: 1 }))).toMatchObject({ ready: false, reason: 'RollingOut' });
    expect(summariseWorkload('StatefulSet', sts({ readyReplicas: 2 }))).toMatchObject({ ready: false, reason: 'NotObserved' });
  });
});

describe('summariseWorkload: DaemonSet', () => {
  const ds = (status: Record<string, unknown>) => ({ metadata: { generation: 3 }, spec: {}, status: { observedGeneration: 3, ...status } });

  it('reads desiredNumberScheduled, numberReady and numberAvailable', () => {
    expect(summariseWorkload('DaemonSet', ds({ desiredNumberScheduled: 4, numberReady: 4, numberAvailable: 4, updatedNumberScheduled: 4 }))).toEqual({
      replicas: 4, readyReplicas: 4, availableReplicas: 4, ready: true,
    });
    expect(summariseWorkload('DaemonSet', ds({ desiredNumberScheduled: 4, numberReady: 4, numberAvailable: 3 }))).toMatchObject({ ready: false, reason: 'NotAvailable' });
    expect(summariseWorkload('DaemonSet', ds({ desiredNumberScheduled: 4, numberReady: 4, numberAvailable: 4, updatedNumberScheduled: 2 }))).toMatchObject({ ready: false, reason: 'RollingOut' });
    expect(summariseWorkload('DaemonSet', ds({}))).toMatchObject({ ready: false, reason: 'NotObserved' });
    expect(summariseWorkload('DaemonSet', ds({ desiredNumberScheduled: 0 }))).toMatchObject({ replicas: 0, ready: true });
  });
});

describe('summariseWorkload: Job', () => {
  const job = (status: Record<string, unknown>) => ({ metadata: {}, spec: { completions: 2 }, status });

  it('is ready when Complete, failed when Failed, running otherwise', () => {
    expect(summariseWorkload('Job', job({ succeeded: 2, conditions: [{ type: 'Complete', status: 'True' }] }))).toEqual({ ready: true });
    expect(summariseWorkload('Job', job({ failed: 7, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }] }))).toEqual({
      ready: false, failed: true, reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit',
    });
    expect(summariseWorkload('Job', job({ succeeded: 1, conditions: [{ type: 'Complete', status: 'False' }] }))).toEqual({ ready: false, reason: 'Running', message: '1 of 2 completions succeeded' });
  });
});

describe('summariseWorkload: other kinds and absent objects', () => {
  it('other kinds are ready when they exist', () => {
    expect(summariseWorkload('ConfigMap', { metadata: { name: 'c' } })).toEqual({ ready: true });
    expect(summariseWorkload('ConfigMap', undefined)).toMatchObject({ ready: false, reason: 'NotFound' });
    expect(summariseWorkload('Deployment', null)).toMatchObject({ ready: false });
  });

  it('ignores unreadable numbers', () => {
    expect(summariseWorkload('Deployment', { spec: { replicas: 'x' }, status: { readyReplicas: -1, availableReplicas: 'y', updatedReplicas: 1, replicas: 1 } })).toEqual({
      replicas: 1, readyReplicas: 0, availableReplicas: 0, ready: false, reason: 'NotAvailable', message: '0 of 1 replicas available',
    });
  });
});
