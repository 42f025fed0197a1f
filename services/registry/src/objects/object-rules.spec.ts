import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { checkKey, keyOfObject, nameErrors, pageLimit, parseRevision, sameJson, specChanged, stampCreated, stampUpdated } from './object-rules';

const reason = (f: () => unknown) => {
  try {
    f();
  } catch (error) {
    return (error as FlotillaError).reason;
  }
  return 'no error';
};

describe('object store rules', () => {
  it('takes DNS-1123 subdomain names of at most 253 characters', () => {
    expect(nameErrors('alice.example-1')).toEqual([]);
    expect(nameErrors('Alice')).toHaveLength(1);
    expect(nameErrors('a'.repeat(254))).toContain('must be no more than 253 characters');
    expect(nameErrors('')).toEqual(['Required value: name is required']);
    expect(reason(() => checkKey({ resource: 'users', namespace: '', name: 'a' }))).toBe(ErrorReason.Invalid);
    expect(reason(() => checkKey({ resource: 'users.iam.kubesphere.io', namespace: 'Bad', name: 'a' }))).toBe(ErrorReason.Invalid);
  });

  it('takes the namespace of the request, else of the object, and refuses two different ones', () => {
    expect(keyOfObject('a.b', { metadata: { name: 'x', namespace: 'n1' } }, '').key).toEqual({ resource: 'a.b', namespace: 'n1', name: 'x' });
    expect(keyOfObject('a.b', { metadata: { name: 'x' } }, 'n2').key.namespace).toBe('n2');
    expect(reason(() => keyOfObject('a.b', { metadata: { name: 'x', namespace: 'n1' } }, 'n2'))).toBe(ErrorReason.BadRequest);
    expect(reason(() => keyOfObject('a.b', [], ''))).toBe(ErrorReason.Invalid);
  });

  it('moves generation only when something outside metadata and status changes, whatever the key order', () => {
    const key = { resource: 'a.b', namespace: '', name: 'x' };
    const created = stampCreated(key, { metadata: { name: 'x' }, spec: { a: 1, b: [1, { c: 2 }] } }, { name: 'x' }, 'uid-1', '5', new Date('2026-11-24T10:00:00.123Z'));
    expect(created.metadata).toEqual({ name: 'x', uid: 'uid-1', resourceVersion: '5', generation: 1, creationTimestamp: '2026-11-24T10:00:00Z' });
    const reordered = { spec: { b: [1, { c: 2 }], a: 1 }, status: { ok: true }, metadata: { name: 'x', labels: { l: 'v' } } };
    expect(specChanged(created, reordered)).toBe(false);
    expect(stampUpdated(key, reordered, reordered.metadata, created, '6').metadata).toMatchObject({ uid: 'uid-1', generation: 1, resourceVersion: '6' });
    const changed = { ...reordered, spec: { a: 2 } };
    expect(stampUpdated(key, changed, changed.metadata, created, '7').metadata).toMatchObject({ generation: 2, creationTimestamp: '2026-11-24T10:00:00Z' });
    expect(sameJson([1, 2], [2, 1])).toBe(false);
    expect(sameJson({ a: undefined }, {})).toBe(true);
  });

  it('reads revisions as BigInt and bounds page sizes', () => {
    expect(parseRevision('9223372036854775807', 'since')).toBe(9223372036854775807n);
    expect(reason(() => parseRevision('1e3', 'since'))).toBe(ErrorReason.BadRequest);
    expect(pageLimit(undefined, 500, 1000)).toBe(500);
    expect(pageLimit(5000, 500, 1000)).toBe(1000);
    expect(reason(() => pageLimit(-1, 500, 1000))).toBe(ErrorReason.BadRequest);
  });
});
