import { IamResource } from '@flotilla/domain';
import { impersonationRules } from '@flotilla/kube';
import { BOOTSTRAP_ADMIN_USER, IamIndex, type IamState, applyIamObject, emptyIamState } from './desired-access';
import { labelSelectorMatches as selectorMatches } from '@flotilla/domain';

const user = (name: string, groups: string[] = [], state?: string) => ({ metadata: { name }, spec: { groups }, ...(state ? { status: { state } } : {}) });
const cab = (name: string, body: Record<string, unknown>) => ({ metadata: { name }, role: 'cluster-viewer', ...body });
const grb = (name: string, role: string, subjects: unknown[]) => ({ metadata: { name }, roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name: role }, subjects });

function stateWith(objects: [string, Record<string, any>][]): IamState {
  const s = emptyIamState();
  for (const [resource, o] of objects) applyIamObject(s, resource, o.metadata.name, o);
  return s;
}
const prod = { name: 'prod-eu', labels: { env: 'prod', region: 'eu' } };
const dev = { name: 'dev-1', labels: { env: 'dev' } };

describe('desired impersonation users per cluster (ADR 0030)', () => {
  it('binds User subjects by cluster name, and through clusterSelector by labels', () => {
    const index = new IamIndex(
      stateWith([
        [IamResource.clusterAccessBindings, cab('by-name', { subjects: [{ kind: 'User', name: 'alice' }], clusters: ['prod-eu'] })],
        [IamResource.clusterAccessBindings, cab('by-label', { subjects: [{ kind: 'User', name: 'bob' }], clusterSelector: { matchLabels: { env: 'dev' } } })],
        [IamResource.clusterAccessBindings, cab('by-expr', { subjects: [{ kind: 'User', name: 'carol' }], clusterSelector: { matchExpressions: [{ key: 'region', operator: 'In', values: ['eu', 'us'] }] } })],
      ]),
    );
    expect(index.usersFor(prod)).toEqual([BOOTSTRAP_ADMIN_USER, 'alice', 'carol']);
    expect(index.usersFor(dev)).toEqual([BOOTSTRAP_ADMIN_USER, 'bob']);
  });

  it('follows selectors as Kubernetes does: absent matches nothing, {} matches all, NotIn/DoesNotExist hold for a missing label, an unknown operator matches nothing', () => {
    expect(selectorMatches(undefined, prod.labels)).toBe(false);
    expect(selectorMatches({}, prod.labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['x'] }] }, prod.labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, prod.labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'env', operator: 'Exists' }] }, {})).toBe(false);
    expect(selectorMatches({ matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'region', operator: 'In', values: ['us'] }] }, prod.labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'env', operator: 'Gt' as never, values: ['1'] }] }, prod.labels)).toBe(false);
  });

  it('expands a Group subject to the Users whose spec.groups hold it (disabled users left out), and a Token to its user', () => {
    const index = new IamIndex(
      stateWith([
        [IamResource.users, user('dan', ['sre', 'dev'])],
        [IamResource.users, user('erin', ['sre'])],
        [IamResource.users, user('frank', ['sre'], 'Disabled')],
        [IamResource.users, user('gina', ['dev'])],
        [IamResource.tokens, { metadata: { name: 'ci-token' }, spec: { user: 'ci-bot' } }],
        [IamResource.clusterAccessBindings, cab('sre', { subjects: [{ kind: 'Group', name: 'sre' }, { kind: 'Token', name: 'ci-token' }, { kind: 'User', name: 'frank' }], clusters: ['prod-eu'] })],
      ]),
    );
    expect(index.usersFor(prod)).toEqual([BOOTSTRAP_ADMIN_USER, 'ci-bot', 'dan', 'erin']);
  });

  it('gives every cluster the fleet admins (GlobalRoleBindings to fleet-admin, by user, group or token) and the bootstrap admin; fleet-viewer gives none', () => {
    const index = new IamIndex(
      stateWith([
        [IamResource.users, user('hal', ['platform'])],
        [IamResource.tokens, { metadata: { name: 'ops' }, spec: { user: 'ops-bot' } }],
        [IamResource.globalRoleBindings, grb('admins', 'fleet-admin', [{ kind: 'User', name: 'oidc:ivy' }, { kind: 'Group', name: 'platform' }, { kind: 'Token', name: 'ops' }])],
        [IamResource.globalRoleBindings, grb('viewers', 'fleet-viewer', [{ kind: 'User', name: 'jack' }])],
      ]),
    );
    expect(index.usersFor(dev)).toEqual([BOOTSTRAP_ADMIN_USER, 'hal', 'oidc:ivy', 'ops-bot']);
  });

  it('with nobody bound the rule is still a valid, narrow rule (the placeholder, never an empty resourceNames)', () => {
    const state = emptyIamState();
    // The bootstrap admin is always there; a cluster with no user at all still gets the placeholder.
    expect(new IamIndex(state).usersFor(dev)).toEqual([BOOTSTRAP_ADMIN_USER]);
    expect((impersonationRules([])[0] as { resourceNames: string[] }).resourceNames).toEqual(['flotilla:user:-']);
  });

  it('reports a change only when what the desired state reads changed', () => {
    const s = emptyIamState();
    expect(applyIamObject(s, IamResource.tokens, 't', { metadata: { name: 't' }, spec: { user: 'u' } })).toBe(true);
    expect(applyIamObject(s, IamResource.tokens, 't', { metadata: { name: 't' }, spec: { user: 'u' }, status: { lastUsedTime: '2026-11-27T00:00:00Z' } })).toBe(false);
    expect(applyIamObject(s, IamResource.users, 'u', user('u', ['b', 'a']))).toBe(true);
    expect(applyIamObject(s, IamResource.users, 'u', { ...user('u', ['a', 'b']), spec: { groups: ['a', 'b'], email: 'u@x' } })).toBe(false);
    expect(applyIamObject(s, IamResource.users, 'u', undefined)).toBe(true);
    expect(applyIamObject(s, IamResource.users, 'u', undefined)).toBe(false);
    expect(applyIamObject(s, 'federatedthings.example.io', 'x', {})).toBe(false);
  });
});
