import { FlotillaError } from '@flotilla/domain';
import { IMPERSONATION_ANNOTATION, NO_USER_PLACEHOLDER, ROLE_MAP_ANNOTATION, impersonationEnabled, impersonationRules, memberAccessChoice, roleMapOf } from './member-access';
import { DEFAULT_ROLE_MAP, memberClusterRoleRules } from './member-role';

type Rule = { apiGroups?: string[]; resources?: string[]; resourceNames?: string[]; verbs: string[] };

describe('member access: impersonation names and choices (ADR 0030)', () => {
  it('allows exactly the bound users, prefixed, sorted and once each, and the three role groups', () => {
    const [users, groups] = impersonationRules(['bob', 'alice', 'oidc:carol', 'alice']) as Rule[];
    expect(users).toEqual({ apiGroups: [''], resources: ['users'], resourceNames: ['flotilla:user:alice', 'flotilla:user:bob', 'flotilla:user:oidc:carol'], verbs: ['impersonate'] });
    expect(groups!.resourceNames).toEqual(['flotilla:role:cluster-admin', 'flotilla:role:cluster-editor', 'flotilla:role:cluster-viewer']);
  });

  it('never writes an empty resourceNames (RBAC reads it as every name): no user is a placeholder that cannot be a user', () => {
    for (const users of [[], new Set<string>()]) {
      const rules = impersonationRules(users) as Rule[];
      for (const r of rules) expect(r.resourceNames!.length).toBeGreaterThan(0);
      expect(rules[0]!.resourceNames).toEqual([NO_USER_PLACEHOLDER]);
    }
    expect(NO_USER_PLACEHOLDER).toBe('flotilla:user:-');
    // Flotilla user names are Kubernetes object names, which start with a letter or digit.
    expect(/^[a-z0-9]/.test('-')).toBe(false);
  });

  it('impersonation is on unless the annotation says off; anything else is Invalid naming the annotation', () => {
    expect(impersonationEnabled(undefined)).toBe(true);
    expect(impersonationEnabled({ [IMPERSONATION_ANNOTATION]: 'on' })).toBe(true);
    expect(impersonationEnabled({ [IMPERSONATION_ANNOTATION]: 'off' })).toBe(false);
    expect(() => impersonationEnabled({ [IMPERSONATION_ANNOTATION]: 'false' })).toThrow(FlotillaError);
    expect(() => impersonationEnabled({ [IMPERSONATION_ANNOTATION]: 'false' })).toThrow(/metadata\.annotations\[proxy\.flotilla\.io\/impersonation\]: "false" is not supported: use "on" \(the default\) or "off"/);
  });

  it('maps roles to admin, edit and view unless the role map chooses, per role', () => {
    expect(roleMapOf({})).toEqual(DEFAULT_ROLE_MAP);
    expect(roleMapOf({ [ROLE_MAP_ANNOTATION]: '{"cluster-admin":"cluster-admin","cluster-viewer":"team:viewer"}' })).toEqual({
      'cluster-admin': 'cluster-admin',
      'cluster-editor': 'edit',
      'cluster-viewer': 'team:viewer',
    });
  });

  it.each([
    ['not JSON', '{cluster-admin: admin', /is not valid JSON/],
    ['not an object', '["admin"]', /must be a JSON object/],
    ['an unknown role', '{"fleet-admin":"admin"}', /"fleet-admin" is not a Flotilla role: use "cluster-admin", "cluster-editor", "cluster-viewer"/],
    ['a name that is not a ClusterRole name', '{"cluster-viewer":"../view"}', /"cluster-viewer" must map to a ClusterRole name/],
    ['a non-string', '{"cluster-viewer":1}', /must map to a ClusterRole name/],
    ['a system: role', '{"cluster-admin":"system:masters"}', /may not map to "system:masters": system: roles and Flotilla's own roles/],
    ["Flotilla's own role", '{"cluster-admin":"flotilla:impersonation"}', /may not map to "flotilla:impersonation"/],
    ['too deep', '{"cluster-admin":{"a":{"b":1}}}', /nests deeper than 2 levels/],
    ['too large', `{"cluster-admin":"${'a'.repeat(5000)}"}`, /role map/],
  ])('refuses a role map with %s, naming the annotation', (_what, value, message) => {
    const choose = () => roleMapOf({ [ROLE_MAP_ANNOTATION]: value });
    expect(choose).toThrow(FlotillaError);
    expect(choose).toThrow(/^metadata\.annotations\[proxy\.flotilla\.io\/role-map\]: /);
    expect(choose).toThrow(message);
  });

  it("Flotilla's member role holds the sync's rights (by name) only with impersonation on, and may bind only the mapped roles", () => {
    const bindable = (rules: Rule[]) => rules.filter((r) => r.verbs.includes('bind')).flatMap((r) => r.resourceNames ?? ['*']);
    const on = memberClusterRoleRules(memberAccessChoice({ [ROLE_MAP_ANNOTATION]: '{"cluster-admin":"cluster-admin"}' })) as Rule[];
    expect(bindable(on)).toEqual(['cluster-admin', 'edit', 'view']);
    expect(on.filter((r) => r.verbs.includes('escalate'))).toEqual([{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], resourceNames: ['flotilla:impersonation'], verbs: ['escalate'] }]);
    // Only create goes without a name (RBAC cannot limit it); every other verb is by name.
    for (const r of on.filter((x) => x.resources && !x.verbs.includes('create') && !x.resources.includes('nodes'))) expect(r.resourceNames?.length).toBeGreaterThan(0);
    expect(on.some((r) => r.resources?.includes('users') || r.resources?.includes('groups'))).toBe(false);

    const off = memberClusterRoleRules(memberAccessChoice({ [IMPERSONATION_ANNOTATION]: 'off' })) as Rule[];
    expect(off.some((r) => r.verbs.some((v) => ['bind', 'escalate', 'create', 'update'].includes(v)))).toBe(false);
  });
});
