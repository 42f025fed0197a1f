import { FlotillaError } from '../errors/flotilla-error';
import { DEFAULT_PATCH_LIMITS, PatchType, applyJsonPatch, applyMergePatch, patchTypeFromContentType } from './patch';
import { thrownBy } from '@flotilla/testing';

describe('merge patch (RFC 7386)', () => {
  it('merges objects, replaces arrays and deletes on null', () => {
    const target = { a: { b: 1, c: 2 }, list: [1, 2], keep: true };
    expect(applyMergePatch(target, { a: { b: null, d: 4 }, list: [3] })).toEqual({ a: { c: 2, d: 4 }, list: [3], keep: true });
    expect(target).toEqual({ a: { b: 1, c: 2 }, list: [1, 2], keep: true });
  });
});

describe('JSON patch (RFC 6902)', () => {
  const doc = { metadata: { labels: { a: '1' } }, items: ['x', 'y'] };

  it('applies add, replace, remove, move, copy and test in order', () => {
    const out = applyJsonPatch(doc, [
      { op: 'test', path: '/metadata/labels/a', value: '1' },
      { op: 'add', path: '/metadata/labels/b~1c', value: '2' },
      { op: 'replace', path: '/metadata/labels/a', value: '3' },
      { op: 'add', path: '/items/-', value: 'z' },
      { op: 'remove', path: '/items/0' },
      { op: 'copy', from: '/items/0', path: '/first' },
      { op: 'move', from: '/first', path: '/moved' },
    ]);
    expect(out).toEqual({ metadata: { labels: { a: '3', 'b/c': '2' } }, items: ['y', 'z'], moved: 'y' });
  });

  it('fails a test operation with a message naming the path, and leaves the input alone', () => {
    expect(() => applyJsonPatch(doc, [{ op: 'test', path: '/metadata/labels/a', value: '2' }])).toThrow('testing value /metadata/labels/a failed');
    expect(() => applyJsonPatch(doc, [{ op: 'remove', path: '/nope' }])).toThrow(FlotillaError);
    expect(() => applyJsonPatch(doc, [{ op: 'replace', path: '/items/5', value: 1 }])).toThrow(/missing path|out of range/);
    expect(() => applyJsonPatch(doc, { op: 'add' })).toThrow('a JSON patch must be a JSON array of operations');
    expect(() => applyJsonPatch(doc, [{ op: 'jump', path: '/a' }])).toThrow(/unexpected kind of operation "jump"/);
    expect(doc).toEqual({ metadata: { labels: { a: '1' } }, items: ['x', 'y'] });
  });
});

describe('patchTypeFromContentType', () => {
  it('accepts supported types with parameters and refuses others with 415', () => {
    expect(patchTypeFromContentType('application/merge-patch+json; charset=utf-8', [PatchType.Merge])).toBe(PatchType.Merge);
    try {
      patchTypeFromContentType('application/strategic-merge-patch+json', [PatchType.Merge, PatchType.Json]);
      throw new Error('accepted');
    } catch (error) {
      expect((error as FlotillaError).reason).toBe('UnsupportedMediaType');
    }
  });
});

const refusal = (fn: () => unknown): FlotillaError => thrownBy(fn, FlotillaError);

describe('patch guards', () => {
  const cluster = () => ({
    metadata: { name: 'a', annotations: { big: 'x'.repeat(200 * 1024) } },
    spec: { connection: { type: 'direct' } },
  });

  afterEach(() => {
    // Whatever a test did, nothing may have reached the prototype every object shares.
    expect(({} as Record<string, unknown>).kubeconfig).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['/spec/connection/__proto__/kubeconfig', '__proto__'],
    ['/__proto__/kubeconfig', '__proto__'],
    ['/spec/constructor/prototype/kubeconfig', 'constructor'],
    ['/spec/connection/prototype', 'prototype'],
    ['/spec/__proto__', '__proto__'],
  ])('refuses a JSON patch whose path is %s, and Object.prototype stays clean', (path, key) => {
    for (const op of ['add', 'replace', 'remove']) {
      const error = refusal(() => applyJsonPatch(cluster(), [{ op: 'test', path: '/metadata/name', value: 'a' }, { op, path, value: 'polluted' }]));
      expect(error.reason).toBe('Invalid');
      expect(error.message).toContain(`"${key}"`);
      expect(error.details.causes).toEqual([expect.objectContaining({ field: 'patch[1].path', reason: 'FieldValueForbidden' })]);
    }
    expect(({} as Record<string, unknown>).kubeconfig).toBeUndefined();
  });

  it('refuses __proto__ in from, and in escaped spellings that unescape to a forbidden key', () => {
    expect(refusal(() => applyJsonPatch(cluster(), [{ op: 'copy', from: '/__proto__', path: '/spec/x' }])).details.causes?.[0]?.field).toBe('patch[0].from');
    expect(refusal(() => applyJsonPatch(cluster(), [{ op: 'move', from: '/spec', path: '/metadata/constructor' }])).reason).toBe('Invalid');
    // "~0" unescapes to "~" and "~1" to "/": neither can build "__proto__", but the check runs after unescaping.
    expect(applyJsonPatch({ a: {} }, [{ op: 'add', path: '/a/__proto~1__', value: 1 }])).toEqual({ a: { '__proto/__': 1 } });
  });

  it('walks own properties only: an inherited name is a missing path, not a way into Object.prototype', () => {
    expect(refusal(() => applyJsonPatch({ spec: {} }, [{ op: 'add', path: '/spec/toString/x', value: 1 }])).message).toMatch(/missing path/);
    expect(refusal(() => applyJsonPatch({ spec: {} }, [{ op: 'copy', from: '/spec/hasOwnProperty', path: '/x' }])).message).toMatch(/missing path/);
  });

  it('refuses a merge patch naming __proto__, constructor or prototype at any depth', () => {
    const patch = JSON.parse('{"spec":{"connection":{"__proto__":{"kubeconfig":"polluted"}}}}');
    const error = refusal(() => applyMergePatch(cluster(), patch));
    expect(error.reason).toBe('Invalid');
    expect(error.message).toContain('"__proto__" at "/spec/connection/__proto__"');
    expect(refusal(() => applyMergePatch(cluster(), { metadata: { constructor: { prototype: { polluted: 1 } } } })).message).toContain('"constructor"');
    expect(refusal(() => applyMergePatch(cluster(), JSON.parse('{"__proto__":{"polluted":1}}'))).reason).toBe('Invalid');
  });

  it('refuses more operations than the limit, naming it', () => {
    const ops = Array.from({ length: DEFAULT_PATCH_LIMITS.maxOperations + 1 }, () => ({ op: 'test', path: '/metadata/name', value: 'a' }));
    const error = refusal(() => applyJsonPatch(cluster(), ops));
    expect(error.reason).toBe('Invalid');
    expect(error.message).toMatch(/at most 1000 are accepted in one patch/);
    expect(applyJsonPatch(cluster(), ops.slice(1))).toEqual(cluster());
  });

  it('refuses 40 copies of one large annotation before building them, naming the limit', () => {
    const ops = Array.from({ length: 40 }, (_, i) => ({ op: 'copy', from: '/metadata/annotations/big', path: `/metadata/annotations/copy-${i}` }));
    const error = refusal(() => applyJsonPatch(cluster(), ops));
    expect(error.reason).toBe('Invalid');
    expect(error.message).toMatch(/larger than 3145728 bytes/);
    expect(error.details.causes?.[0]).toMatchObject({ reason: 'FieldValueTooLong' });
  });

  it('refuses 30 doubling copies after a few steps', () => {
    const ops = Array.from({ length: 30 }, (_, i) => ({ op: 'copy', from: '/spec', path: `/spec/d${i}` }));
    const error = refusal(() => applyJsonPatch({ spec: { seed: 'x'.repeat(1024) } }, ops));
    expect(error.message).toMatch(/larger than 3145728 bytes/);
    // The refusal came at the operation that crossed the limit: 2^12 KiB > 3 MiB.
    expect(error.details.causes?.[0]?.field).toMatch(/^patch\[1[0-2]\]\.path$/);
  });

  it('refuses a merge patch nested deeper than the limit', () => {
    let deep: Record<string, unknown> = { x: 1 };
    for (let i = 0; i < 100; i++) deep = { a: deep };
    expect(refusal(() => applyMergePatch({}, deep)).message).toMatch(/nests deeper than 64 levels/);
  });
});
