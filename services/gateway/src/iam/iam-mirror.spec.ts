import { IamResource, MemberRole } from '@flotilla/domain';
import { ManualFeed, accessBinding, fleetBinding, tokenObject, userObject } from '../auth/testing/iam-fixtures';
import { labelSelectorRequirements as selectorRequirements } from '@flotilla/domain';
import { IamMirror, subjectKeysOf } from './iam-mirror';

describe('IamMirror', () => {
  function started() {
    const feed = new ManualFeed();
    const mirror = new IamMirror(feed);
    mirror.start();
    return { feed, mirror };
  }

  it('is not synced, and refuses to decide, until the first SYNC', async () => {
    const { feed, mirror } = started();
    expect(mirror.isSynced).toBe(false);
    expect(() => mirror.assertSynced()).toThrow(/still loading/);
    feed.sync([]);
    await mirror.whenSynced();
    expect(() => mirror.assertSynced()).not.toThrow();
  });

  it('holds users, token hashes and bindings indexed by subject', () => {
    const { feed, mirror } = started();
    const t = tokenObject('alice', '2030-01-01T00:00:00Z');
    feed.sync([
      userObject('alice', ['dev']),
      t.object,
      fleetBinding('viewers', 'fleet-viewer', [{ kind: 'Group', name: 'dev' }]),
      fleetBinding('other-role', 'platform-regular', [{ kind: 'User', name: 'alice' }]),
      accessBinding('a1', MemberRole.editor, [{ kind: 'User', name: 'alice' }], { clusters: ['c1'] }),
    ]);
    expect(mirror.user('alice')?.spec.groups).toEqual(['dev']);
    const record = mirror.token(t.name)!;
    expect(record.user).toBe('alice');
    expect(record.hash).toHaveLength(32);
    expect(record.expiresAt).toBe(Date.parse('2030-01-01T00:00:00Z'));
    const keys = subjectKeysOf({ user: 'alice', groups: ['dev'], via: 'token', tokenId: t.name });
    // Only the built-in fleet roles count.
    expect([...mirror.fleetRoles(keys)]).toEqual(['fleet-viewer']);
    expect(mirror.accessRules(keys).map((r) => [r.binding, r.role, [...r.clusters!]])).toEqual([['a1', 'cluster-editor', ['c1']]]);
    expect(mirror.accessRules(['User:bob'])).toEqual([]);
  });

  it('applies changes in order, notifies, and removes deleted objects from the indexes', () => {
    const { feed, mirror } = started();
    feed.sync([]);
    const seen: number[] = [];
    mirror.onChange(() => seen.push(mirror.generation));
    const t = tokenObject('alice');
    feed.change('ADDED', t.object);
    expect(mirror.token(t.name)).toBeDefined();
    feed.change('DELETED', t.object);
    expect(mirror.token(t.name)).toBeUndefined();
    const b = accessBinding('a1', MemberRole.viewer, [{ kind: 'Group', name: 'ops' }], { clusters: ['c1'] });
    feed.change('ADDED', b);
    expect(mirror.accessRules(['Group:ops'])).toHaveLength(1);
    // Re-bound to another subject: the old subject loses it.
    feed.change('MODIFIED', { ...b, object: { ...b.object, subjects: [{ kind: 'User', name: 'bob' }] } });
    expect(mirror.accessRules(['Group:ops'])).toHaveLength(0);
    expect(mirror.accessRules(['User:bob'])).toHaveLength(1);
    feed.change('DELETED', b);
    expect(mirror.accessRules(['User:bob'])).toHaveLength(0);
    expect(seen).toHaveLength(5);
  });

  it('ignores a change older than what it holds (a change repeated after a SYNC)', () => {
    const mirror = new IamMirror(new ManualFeed());
    const u = userObject('alice', ['new']);
    mirror.apply({ type: 'SYNC', items: [u], revision: u.resourceVersion });
    const older = { ...userObject('alice', ['old']), resourceVersion: '1' };
    mirror.apply({ type: 'CHANGE', change: { type: 'MODIFIED', revision: '1', object: older } });
    expect(mirror.user('alice')?.spec.groups).toEqual(['new']);
    mirror.apply({ type: 'CHANGE', change: { type: 'DELETED', revision: '2', object: older } });
    expect(mirror.user('alice')).toBeDefined();
  });

  it('holds a token without a readable hash as absent, and a bad expiry as expired', () => {
    const { feed, mirror } = started();
    const t = tokenObject('alice', 'not a date');
    const noHash = tokenObject('alice');
    (noHash.object.object.metadata as { annotations: object }).annotations = {};
    feed.sync([t.object, noHash.object]);
    expect(mirror.token(t.name)?.expiresAt).toBeNaN();
    expect(mirror.token(noHash.name)).toBeUndefined();
    expect(IamResource.tokens).toBe('tokens.iam.flotilla.io');
  });

  it('reads label selectors with Kubernetes semantics, failing closed', () => {
    expect(selectorRequirements(undefined)).toBeUndefined();
    expect(selectorRequirements({})).toEqual([]);
    expect(selectorRequirements({ matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] })).toEqual([
      { key: 'env', operator: 'In', values: ['prod'] },
      { key: 'tier', operator: 'Exists' },
    ]);
    expect(selectorRequirements({ matchExpressions: [{ key: 'env', operator: 'In', values: [] }] })).toBeNull();
    expect(selectorRequirements({ matchExpressions: [{ key: 'env', operator: 'Gt' as 'In', values: ['1'] }] })).toBeNull();
  });
});
