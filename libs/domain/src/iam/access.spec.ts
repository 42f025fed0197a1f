import type { ClusterAccessBinding, GlobalRoleBinding, LabelSelector, Subject, User } from './iam';
import { MemberAccess, memberRoleAtLeast, memberRoleFromBindings, subjectKeys } from './access';

const fleet = (name: string, role: string, subjects: Subject[]): GlobalRoleBinding => ({
  apiVersion: 'iam.kubesphere.io/v1beta1',
  kind: 'GlobalRoleBinding',
  metadata: { name },
  subjects,
  roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name: role },
});
const access = (name: string, role: string, subjects: Subject[], where: { clusters?: string[]; clusterSelector?: LabelSelector }): ClusterAccessBinding =>
  ({ apiVersion: 'iam.flotilla.io/v1alpha1', kind: 'ClusterAccessBinding', metadata: { name }, subjects, role, ...where }) as ClusterAccessBinding;

// The same fleet as the gateway's authorizer.spec.ts.
const globals = [fleet('admins', 'fleet-admin', [{ kind: 'User', name: 'alice' }]), fleet('viewers', 'fleet-viewer', [{ kind: 'User', name: 'vera' }]), fleet('other', 'custom', [{ kind: 'User', name: 'olga' }])];
const bindings = [
  access('prod-viewers', 'cluster-viewer', [{ kind: 'Group', name: 'oidc:sre' }], { clusterSelector: { matchLabels: { env: 'prod' } } }),
  access('eu-editors', 'cluster-editor', [{ kind: 'User', name: 'bob' }], { clusterSelector: { matchExpressions: [{ key: 'region', operator: 'In', values: ['eu'] }] } }),
  access('dev-admin', 'cluster-admin', [{ kind: 'User', name: 'bob' }], { clusters: ['dev-1'] }),
  access('by-token', 'cluster-viewer', [{ kind: 'Token', name: 'tcarol' }], { clusters: ['prod-us'] }),
  access('broken', 'cluster-admin', [{ kind: 'User', name: 'eve' }], { clusterSelector: { matchExpressions: [{ key: 'env', operator: 'Equals' as 'In', values: ['prod'] }] } }),
  access('unknown-role', 'root', [{ kind: 'User', name: 'eve' }], { clusters: ['prod-eu'] }),
  access('bad-subject', 'cluster-admin', [{ kind: 'ServiceAccount' as 'User', name: 'eve' }], { clusters: ['prod-eu'] }),
  access('everyone-dev', 'cluster-viewer', [{ kind: 'Group', name: 'dev' }], { clusterSelector: {} }),
];
const prodEu = { name: 'prod-eu', labels: { env: 'prod', region: 'eu' } };
const prodUs = { name: 'prod-us', labels: { env: 'prod', region: 'us' } };
const dev1 = { name: 'dev-1', labels: { env: 'dev' } };
const role = (p: { user: string; groups?: string[]; tokenId?: string; via?: 'admin-token' | 'token' | 'oidc' }, cluster: { name: string; labels?: Record<string, string> }) =>
  memberRoleFromBindings({ groups: [], ...p }, cluster, globals, bindings);

describe('memberRoleFromBindings (the gateway authorizer\'s computeMemberRole)', () => {
  it('fleet-admin is cluster-admin everywhere; fleet-viewer has no member access', () => {
    expect(role({ user: 'alice' }, prodEu)).toBe('cluster-admin');
    expect(role({ user: 'alice' }, { name: 'anything' })).toBe('cluster-admin');
    expect(role({ user: 'vera' }, prodEu)).toBeUndefined();
    expect(role({ user: 'olga' }, prodEu)).toBeUndefined();
  });

  it('the bootstrap admin is cluster-admin; a Flotilla or OIDC user named admin is not', () => {
    expect(role({ user: 'admin' }, prodEu)).toBe('cluster-admin');
    expect(role({ user: 'admin', via: 'admin-token' }, prodEu)).toBe('cluster-admin');
    expect(role({ user: 'admin', via: 'token', tokenId: 't' }, prodEu)).toBeUndefined();
    expect(role({ user: 'admin', via: 'oidc' }, prodEu)).toBeUndefined();
  });

  it('takes the strongest role of bindings by name or by selector', () => {
    expect(role({ user: 'bob' }, prodEu)).toBe('cluster-editor');
    expect(role({ user: 'bob' }, prodUs)).toBeUndefined();
    expect(role({ user: 'bob' }, dev1)).toBe('cluster-admin');
    expect(role({ user: 'bob', groups: ['oidc:sre'] }, prodUs)).toBe('cluster-viewer');
    expect(role({ user: 'bob', groups: ['oidc:sre'] }, prodEu)).toBe('cluster-editor');
  });

  it('matches Group subjects by group and Token subjects only with that token', () => {
    expect(role({ user: 'x', groups: ['oidc:sre'] }, prodEu)).toBe('cluster-viewer');
    expect(role({ user: 'oidc:sre' }, prodEu)).toBeUndefined();
    expect(role({ user: 'carol', tokenId: 'tcarol' }, prodUs)).toBe('cluster-viewer');
    expect(role({ user: 'carol' }, prodUs)).toBeUndefined();
  });

  it('grants nothing through unreadable selectors, unknown roles or subject kinds', () => {
    expect(role({ user: 'eve' }, prodEu)).toBeUndefined();
  });

  it('an empty selector selects every cluster, labelled or not', () => {
    expect(role({ user: 'd', groups: ['dev'] }, { name: 'bare' })).toBe('cluster-viewer');
    expect(role({ user: 'd', groups: ['dev'] }, dev1)).toBe('cluster-viewer');
  });

  it('with users given: a disabled or removed Flotilla user holds nothing, and groups are the user\'s current ones', () => {
    const users = new Map<string, User>([
      ['bob', { apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'User', metadata: { name: 'bob' }, spec: { groups: ['oidc:sre', 'system:masters'] } }],
      ['dora', { apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'User', metadata: { name: 'dora' }, spec: {}, status: { state: 'Disabled' } }],
    ]);
    const options = { userOf: (name: string) => users.get(name) };
    expect(memberRoleFromBindings({ user: 'bob', groups: [] }, prodUs, globals, bindings, options)).toBe('cluster-viewer');
    expect(memberRoleFromBindings({ user: 'dora', groups: ['oidc:sre'] }, prodEu, globals, bindings, options)).toBeUndefined();
    expect(memberRoleFromBindings({ user: 'alice', groups: [] }, prodEu, globals, bindings, options)).toBeUndefined();
    expect(memberRoleFromBindings({ user: 'oidc:x', groups: ['oidc:sre'] }, prodEu, globals, bindings, options)).toBe('cluster-viewer');
    expect(memberRoleFromBindings({ user: 'admin', groups: [] }, prodEu, globals, bindings, options)).toBe('cluster-admin');
  });

  it('MemberAccess decides many clusters from one preparation, and ignores malformed bindings', () => {
    const prepared = new MemberAccess(globals, [...bindings, null as never, { role: 'cluster-admin', subjects: 'x' } as never]);
    expect([prodEu, prodUs, dev1].map((c) => prepared.roleOf({ user: 'bob', groups: [] }, c))).toEqual(['cluster-editor', undefined, 'cluster-admin']);
  });
});

describe('helpers', () => {
  it('subjectKeys as the IAM mirror computes them', () => {
    expect(subjectKeys({ user: 'u', groups: ['g1', 'g2'], tokenId: 't' })).toEqual(['User:u', 'Group:g1', 'Group:g2', 'Token:t']);
  });

  it('memberRoleAtLeast orders admin > editor > viewer', () => {
    expect(memberRoleAtLeast('cluster-admin', 'cluster-editor')).toBe(true);
    expect(memberRoleAtLeast('cluster-editor', 'cluster-editor')).toBe(true);
    expect(memberRoleAtLeast('cluster-viewer', 'cluster-editor')).toBe(false);
    expect(memberRoleAtLeast(undefined, 'cluster-viewer')).toBe(false);
  });
});
