import { FlotillaError } from '../errors/flotilla-error';
import { PatchType, applyJsonPatch, applyMergePatch, patchTypeFromContentType } from './patch';

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
