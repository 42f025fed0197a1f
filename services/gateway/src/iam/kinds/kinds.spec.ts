import { FlotillaError, TOKEN_HASH_ANNOTATION, tokenHash, tokenNameOf } from '@flotilla/domain';
import { validateClusterAccessBinding } from './cluster-access-binding';
import { validateGlobalRoleBinding } from './global-role-binding';
import { BUILT_IN_GLOBAL_ROLES } from './global-role';
import { tokenKind, tokenToApi } from './token';
import { validateUser } from './user';

/** The causes of the Invalid error `fn` throws, as "field: reason" strings. */
function causesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof FlotillaError)) throw error;
    expect(error.reason).toBe('Invalid');
    return (error.details.causes ?? []).map((c) => `${c.field}: ${c.reason}`);
  }
  throw new Error('expected an Invalid error');
}

const NOW = new Date('2030-01-01T00:00:00Z');
const tokens = tokenKind({ maxTtlDays: 365, now: () => NOW });

describe('User validation', () => {
  it('accepts KubeSphere users and keeps only the fields Flotilla knows', () => {
    const user = validateUser({ apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'User', metadata: { name: 'alice', labels: { team: 'a' } }, spec: { email: 'alice@example.com', groups: ['devs'], extra: 1 } });
    expect(user).toEqual({
      apiVersion: 'iam.kubesphere.io/v1beta1',
      kind: 'User',
      metadata: { name: 'alice', labels: { team: 'a' } },
      spec: { email: 'alice@example.com', groups: ['devs'] },
      status: { state: 'Active' },
    });
  });

  it('names every bad field', () => {
    expect(causesOf(() => validateUser({ metadata: { name: 'Bad_Name' }, spec: { email: 'nope', password: 'p', groups: ['system:masters'] }, status: { state: 'Gone' } }))).toEqual([
      'metadata.name: FieldValueInvalid',
      'spec.password: FieldValueForbidden',
      'spec.email: FieldValueInvalid',
      'spec.groups[0]: FieldValueInvalid',
      'status.state: FieldValueNotSupported',
    ]);
    expect(causesOf(() => validateUser({ spec: {} }))).toEqual(['metadata: FieldValueRequired']);
    expect(causesOf(() => validateUser({ metadata: { name: 'admin' } }))).toEqual(['metadata.name: FieldValueForbidden']);
    expect(causesOf(() => validateUser({ metadata: { name: 'bob', resourceVersion: '5' } }))).toEqual(['metadata.resourceVersion: FieldValueForbidden']);
  });
});

describe('Token', () => {
  it('generates the name, stores only the hash, and reveals the secret once', () => {
    const validated = tokens.validate({ spec: { user: 'alice', description: 'ci' } });
    expect((validated.spec as Record<string, unknown>).expirationTimestamp).toBe('2030-04-01T00:00:00Z'); // 90 days by default
    const prepared = tokens.prepareCreate!(validated);
    const meta = prepared.object.metadata as { name: string; annotations: Record<string, string> };
    expect(meta.name).toMatch(/^t[0-9a-f]{20}$/);
    const shown = prepared.reveal!(tokens.toApi(prepared.object));
    const secret = (shown.status as { secret: string }).secret;
    expect(tokenNameOf(secret)).toBe(meta.name);
    expect(meta.annotations[TOKEN_HASH_ANNOTATION]).toBe(tokenHash(secret));
    expect(JSON.stringify(prepared.object)).not.toContain(secret);
    expect(JSON.stringify(tokens.toApi(prepared.object))).not.toContain(meta.annotations[TOKEN_HASH_ANNOTATION]);
  });

  it('never shows the hash or a secret, even if one was stored', () => {
    const stored = { metadata: { name: 'tabcdef0123', annotations: { [TOKEN_HASH_ANNOTATION]: 'h', keep: 'me' } }, spec: { user: 'a' }, status: { secret: 'flt_x', lastUsedTime: 't' } };
    expect(tokenToApi(stored)).toEqual({ metadata: { name: 'tabcdef0123', annotations: { keep: 'me' } }, spec: { user: 'a' }, status: { lastUsedTime: 't' } });
  });

  it('refuses a client name, a hash annotation, a missing user and a bad expiry, naming each', () => {
    expect(
      causesOf(() => tokens.validate({ metadata: { name: 'mine', annotations: { [TOKEN_HASH_ANNOTATION]: 'x' } }, spec: { expirationTimestamp: '2032-01-01T00:00:00Z' } })),
    ).toEqual([`metadata.name: FieldValueForbidden`, `metadata.annotations[${TOKEN_HASH_ANNOTATION}]: FieldValueForbidden`, 'spec.user: FieldValueRequired', 'spec.expirationTimestamp: FieldValueInvalid']);
    expect(causesOf(() => tokens.validate({ spec: { user: 'a', expirationTimestamp: '2029-01-01T00:00:00Z' } }))).toEqual(['spec.expirationTimestamp: FieldValueInvalid']);
    expect(causesOf(() => tokens.validate({ spec: { user: 'a', expirationTimestamp: 'tomorrow' } }))).toEqual(['spec.expirationTimestamp: FieldValueInvalid']);
    expect(causesOf(() => tokens.validate({ spec: { user: 'oidc:bob' } }))).toEqual(['spec.user: FieldValueInvalid']);
  });

  it('lets an update change only the description, and keeps the hash', () => {
    const old = { metadata: { name: 'tabcdef0123', resourceVersion: '7', uid: 'u', annotations: { [TOKEN_HASH_ANNOTATION]: 'h' } }, spec: { user: 'a', expirationTimestamp: '2030-02-01T00:00:00Z' } };
    const updated = tokens.validate({ metadata: { name: 'tabcdef0123' }, spec: { user: 'a', description: 'new' } }, old);
    expect(updated.spec).toEqual({ user: 'a', expirationTimestamp: '2030-02-01T00:00:00Z', description: 'new' });
    expect((updated.metadata as { annotations: Record<string, string> }).annotations[TOKEN_HASH_ANNOTATION]).toBe('h');
    expect(causesOf(() => tokens.validate({ metadata: { name: 'tabcdef0123' }, spec: { user: 'b', expirationTimestamp: '2030-03-01T00:00:00Z' } }, old))).toEqual([
      'spec.user: FieldValueForbidden',
      'spec.expirationTimestamp: FieldValueForbidden',
    ]);
  });

  it('defaults to the maximum lifetime when it is shorter than 90 days', () => {
    const short = tokenKind({ maxTtlDays: 7, now: () => NOW });
    expect((short.validate({ spec: { user: 'a' } }).spec as Record<string, unknown>).expirationTimestamp).toBe('2030-01-08T00:00:00Z');
  });
});

describe('GlobalRole and GlobalRoleBinding', () => {
  it('serves fleet-admin and fleet-viewer', () => {
    expect(BUILT_IN_GLOBAL_ROLES.map((r) => (r.metadata as { name: string }).name)).toEqual(['fleet-admin', 'fleet-viewer']);
  });

  it('binds subjects to a built-in role only, and keeps roleRef fixed', () => {
    const ok = validateGlobalRoleBinding({ metadata: { name: 'ops' }, subjects: [{ kind: 'User', name: 'alice' }, { kind: 'Group', name: 'oidc:ops' }], roleRef: { name: 'fleet-viewer' } });
    expect(ok.roleRef).toEqual({ apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name: 'fleet-viewer' });
    expect(causesOf(() => validateGlobalRoleBinding({ metadata: { name: 'x' }, subjects: [{ kind: 'User', name: 'system:admin' }, { kind: 'Robot', name: 'r' }], roleRef: { name: 'root' } }))).toEqual([
      'subjects[0].name: FieldValueInvalid',
      'subjects[1].kind: FieldValueNotSupported',
      'roleRef.name: FieldValueNotSupported',
    ]);
    expect(causesOf(() => validateGlobalRoleBinding({ metadata: { name: 'ops' }, subjects: [{ kind: 'User', name: 'alice' }], roleRef: { name: 'fleet-admin' } }, ok))).toEqual(['roleRef: FieldValueInvalid']);
  });
});

describe('ClusterAccessBinding', () => {
  const subjects = [{ kind: 'User', name: 'alice' }];

  it('takes clusters and/or a selector', () => {
    const cab = validateClusterAccessBinding({
      metadata: { name: 'prod' },
      subjects,
      role: 'cluster-viewer',
      clusters: ['m1', 'm1'],
      clusterSelector: { matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }] },
    });
    expect(cab).toMatchObject({ role: 'cluster-viewer', clusters: ['m1'], clusterSelector: { matchLabels: { env: 'prod' } } });
    expect(validateClusterAccessBinding({ metadata: { name: 'all' }, subjects, role: 'cluster-admin', clusterSelector: {} })).toMatchObject({ clusterSelector: {} });
  });

  it('names every bad field', () => {
    expect(causesOf(() => validateClusterAccessBinding({ metadata: { name: 'x' }, subjects: [], role: 'root' }))).toEqual([
      'subjects: FieldValueRequired',
      'role: FieldValueNotSupported',
      'clusters: FieldValueRequired',
    ]);
    expect(
      causesOf(() =>
        validateClusterAccessBinding({
          metadata: { name: 'x' },
          subjects: [{ kind: 'Group', name: 'system:masters' }],
          role: 'cluster-admin',
          clusters: ['Not_A_Name'],
          clusterSelector: { matchExpressions: [{ key: 'env', operator: 'In' }, { key: 'x', operator: 'Near' }] },
        }),
      ),
    ).toEqual([
      'subjects[0].name: FieldValueInvalid',
      'clusters[0]: FieldValueInvalid',
      'clusterSelector.matchExpressions[0].values: FieldValueRequired',
      'clusterSelector.matchExpressions[1].operator: FieldValueNotSupported',
    ]);
  });
});
