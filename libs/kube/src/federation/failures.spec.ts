import { MemberUnavailableError } from '../member/member-client';
import { failureOfError, failureOfResponse, missingRight } from './failures';
import { GateRefusedError } from './request-gate';

const ref = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' };
const res = (status: number, message: string, details?: Record<string, unknown>) => ({ status, body: { kind: 'Status', message, ...(details ? { details } : {}) } });

describe('member failures as per-cluster reasons', () => {
  it.each([
    [res(404, 'namespaces "shop" not found', { name: 'shop', kind: 'namespaces' }), 'WaitingForNamespace', true],
    [res(404, 'the server could not find the requested resource'), 'WaitingForCRD', true],
    [res(403, 'deployments.apps "web" is forbidden: User "x" cannot patch resource "deployments" in API group "apps" in the namespace "shop"'), 'InsufficientRights', true],
    [res(401, 'Unauthorized'), 'ClusterNotReady', true],
    [res(409, 'Operation cannot be fulfilled'), 'ApplyFailed', false],
    [res(422, 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1'), 'ApplyFailed', false],
    [res(429, 'too many requests'), 'ApplyFailed', true],
    [res(503, 'unavailable'), 'ApplyFailed', true],
  ])('%j => %s (retryable %s)', (answer, reason, retryable) => {
    expect(failureOfResponse('m1', 'apply', ref, answer)).toMatchObject({ reason, retryable });
  });

  it('names the missing right and quotes the member, cleaned and bounded', () => {
    const f = failureOfResponse('m1', 'apply', ref, res(403, `deployments.apps "web" is forbidden: User "x" cannot patch resource "deployments" in API group "apps"\n${'z'.repeat(2000)}`));
    expect(f.message).toMatch(/^apply of Deployment shop\/web in m1: Flotilla's credentials lack patch on deployments\.apps \(the member said: "/);
    expect(f.message).not.toContain('\n');
    expect(f.message.length).toBeLessThan(700);
    expect(missingRight('clusterroles.rbac.authorization.k8s.io "r" is forbidden: user "x" is attempting to grant RBAC permissions not currently held', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: 'r' })).toMatch(/^bind on clusterroles/);
  });

  it('maps connection failures to ClusterNotReady and a full queue to a retryable ApplyFailed', () => {
    expect(failureOfError('m1', 'apply', ref, new MemberUnavailableError('timeout', '10.0.0.1:6443 did not answer within 10000 ms'))).toMatchObject({ reason: 'ClusterNotReady', retryable: true });
    expect(failureOfError('m1', 'apply', ref, new MemberUnavailableError('answer', 'too large'))).toMatchObject({ reason: 'ApplyFailed', retryable: true });
    expect(failureOfError('m1', 'apply', ref, new GateRefusedError('full', 'more than 10 requests'))).toMatchObject({ reason: 'ApplyFailed', retryable: true });
    expect(failureOfError('m1', 'apply', ref, new GateRefusedError('closed', 'closed'))).toMatchObject({ reason: 'ClusterNotReady' });
  });
});
