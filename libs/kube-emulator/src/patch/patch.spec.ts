import { type JsonObject } from '@flotilla/apply';
import { applyStrategicMergePatch } from './strategic-merge';
import { applyMergePatch } from './merge-patch';
import { applyJsonPatch, JsonPatchError } from './json-patch';
import { BUILTIN_SCHEMAS } from '../model/schema';

const deployment = BUILTIN_SCHEMAS['apps/v1/Deployment'];
const withContainers = (containers: JsonObject[]): JsonObject => ({ spec: { template: { spec: { containers } } } });

describe('strategic merge patch', () => {
  test('merges containers by name; a new container from the patch goes first (as recorded)', () => {
    const out = applyStrategicMergePatch(withContainers([{ name: 'web', image: 'nginx:1.25', ports: [{ containerPort: 80 }] }]), withContainers([{ name: 'sidecar', image: 'busybox' }, { name: 'web', image: 'nginx:1.26' }]), deployment);
    expect(out).toEqual(withContainers([{ name: 'sidecar', image: 'busybox' }, { name: 'web', image: 'nginx:1.26', ports: [{ containerPort: 80 }] }]));
  });
  test('$patch: delete removes by merge key; env merges by name; null deletes map keys', () => {
    const base = withContainers([{ name: 'a', image: 'x', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }, { name: 'b', image: 'y' }]);
    const out = applyStrategicMergePatch(base, withContainers([{ name: 'b', $patch: 'delete' }, { name: 'a', env: [{ name: 'B', value: '3' }] }]), deployment);
    expect(out).toEqual(withContainers([{ name: 'a', image: 'x', env: [{ name: 'A', value: '1' }, { name: 'B', value: '3' }] }]));
    expect(applyStrategicMergePatch({ metadata: { labels: { a: '1', b: '2' } } }, { metadata: { labels: { a: null } } }, deployment)).toEqual({ metadata: { labels: { b: '2' } } });
  });
  test('$setElementOrder orders the merged list; $patch: replace replaces it', () => {
    const base = withContainers([{ name: 'a', image: '1' }, { name: 'b', image: '2' }]);
    const patch: JsonObject = { spec: { template: { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }] } } } };
    expect(applyStrategicMergePatch(base, patch, deployment)).toEqual(withContainers([{ name: 'b', image: '2' }, { name: 'a', image: '1' }]));
    expect(applyStrategicMergePatch(base, withContainers([{ $patch: 'replace' }, { name: 'c', image: '3' }]), deployment)).toEqual(withContainers([{ name: 'c', image: '3' }]));
  });
  test('lists without a merge key are replaced; finalizers (merge strategy) are unioned', () => {
    const out = applyStrategicMergePatch({ metadata: { finalizers: ['a'] }, spec: { template: { spec: { containers: [{ name: 'x', command: ['a', 'b'] }] } } } }, { metadata: { finalizers: ['b'] }, ...withContainers([{ name: 'x', command: ['c'] }]) }, deployment);
    expect(out).toEqual({ metadata: { finalizers: ['a', 'b'] }, ...withContainers([{ name: 'x', command: ['c'] }]) });
  });
});

describe('merge patch and json patch', () => {
  test('RFC 7386', () => {
    expect(applyMergePatch({ a: { b: 1, c: 2 }, l: [1] }, { a: { b: null }, l: [2] })).toEqual({ a: { c: 2 }, l: [2] });
  });
  test('RFC 6902 with a failing test op', () => {
    expect(applyJsonPatch({ data: { a: '1' } }, [{ op: 'add', path: '/data/b', value: '2' }, { op: 'remove', path: '/data/a' }])).toEqual({ data: { b: '2' } });
    expect(() => applyJsonPatch({ data: { a: '1' } }, [{ op: 'test', path: '/data/a', value: '2' }])).toThrow(JsonPatchError);
  });
});
