import { federatedKindByKind } from './kinds';
import { validateFederatedObject } from './validation';

const FD = federatedKindByKind('FederatedDeployment')!;
const FS = federatedKindByKind('FederatedSecret')!;
const template = { metadata: { labels: { app: 'web' } }, spec: { replicas: 2, template: { spec: { containers: [{ name: 'web', image: 'nginx:1' }] } } } };
const withSpec = (spec: Record<string, unknown>) => ({ metadata: { name: 'web', namespace: 'shop' }, spec: { template, ...spec } });
const validate = (spec: Record<string, unknown>) => validateFederatedObject(FD, withSpec(spec), 'shop');
const fields = (causes: { field: string; reason: string }[]) => causes.map((c) => `${c.field}: ${c.reason}`);
const messageOf = (causes: { field: string; message: string }[], field: string) => causes.find((c) => c.field === field)?.message ?? '';

describe('validateFederatedObject: placement', () => {
  it('accepts names, a selector, both, and {} (every cluster)', () => {
    expect(validate({ placement: { clusters: [{ name: 'a' }, { name: 'b' }] } })).toEqual([]);
    expect(validate({ placement: { clusters: [], clusterSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }, { key: 'legacy', operator: 'DoesNotExist' }] } } })).toEqual([]);
    expect(validate({ placement: { clusterSelector: {} } })).toEqual([]);
    expect(validate({})).toEqual([]);
  });

  it('refuses repeated, missing and malformed cluster names', () => {
    const causes = validate({ placement: { clusters: [{ name: 'a' }, { name: 'a' }, {}, { name: 'B_1' }, 'c'] } });
    expect(fields(causes)).toEqual([
      'spec.placement.clusters[1].name: FieldValueDuplicate',
      'spec.placement.clusters[2].name: FieldValueRequired',
      'spec.placement.clusters[3].name: FieldValueInvalid',
      'spec.placement.clusters[4]: FieldValueInvalid',
    ]);
    expect(fields(validate({ placement: { clusters: 'a' } }))).toEqual(['spec.placement.clusters: FieldValueInvalid']);
    expect(fields(validate({ placement: [] }))).toEqual(['spec.placement: FieldValueInvalid']);
  });

  it('names the bad part of a selector and says what to write', () => {
    const causes = validate({
      placement: {
        clusterSelector: {
          matchLabels: { env: 3, 'bad key': 'x' },
          matchExpressions: [
            { key: 'env', operator: 'Equals', values: ['prod'] },
            { key: 'env', operator: 'In' },
            { key: 'env', operator: 'Exists', values: ['x'] },
            { operator: 'NotIn', values: ['a b'] },
          ],
        },
      },
    });
    expect(fields(causes)).toEqual([
      'spec.placement.clusterSelector.matchLabels[env]: FieldValueInvalid',
      'spec.placement.clusterSelector.matchLabels: FieldValueInvalid',
      'spec.placement.clusterSelector.matchExpressions[0].operator: FieldValueNotSupported',
      'spec.placement.clusterSelector.matchExpressions[1].values: FieldValueRequired',
      'spec.placement.clusterSelector.matchExpressions[2].values: FieldValueForbidden',
      'spec.placement.clusterSelector.matchExpressions[3].key: FieldValueRequired',
      'spec.placement.clusterSelector.matchExpressions[3].values[0]: FieldValueInvalid',
    ]);
    const op = messageOf(causes, 'spec.placement.clusterSelector.matchExpressions[0].operator');
    expect(op).toContain('"In", "NotIn", "Exists", "DoesNotExist"');
    expect(op).toContain('use In with one value');
  });

  it('bounds the number of clusters', () => {
    const clusters = Array.from({ length: 11 }, (_, i) => ({ name: `c${i}` }));
    expect(fields(validateFederatedObject(FD, withSpec({ placement: { clusters } }), 'shop', { maxPlacementClusters: 10 }))).toEqual(['spec.placement.clusters: TooMany']);
  });
});

describe('validateFederatedObject: overrides', () => {
  const overrides = (...clusterOverrides: unknown[]) => ({ overrides: [{ clusterName: 'a', clusterOverrides }] });

  it('accepts overrides that apply to the template, replace being the default op', () => {
    expect(validate(overrides({ path: '/spec/replicas', value: 5 }))).toEqual([]);
    expect(validate(overrides({ op: 'add', path: '/spec/paused', value: true }, { op: 'replace', path: '/spec/paused', value: false }, { op: 'remove', path: '/spec/paused' }))).toEqual([]);
    expect(validate(overrides({ path: '/spec/template/spec/containers/0/image', value: 'nginx:2' }))).toEqual([]);
    expect(validate(overrides({ op: 'add', path: '/spec/template/spec/containers/-', value: { name: 'sidecar', image: 'x' } }))).toEqual([]);
  });

  it('labels and annotations may be replaced or removed whether or not the template has them', () => {
    expect(validate(overrides({ path: '/metadata/labels/tier', value: 'gold' }, { op: 'remove', path: '/metadata/labels/none' }, { path: '/metadata/annotations/a~1b', value: 'x' }))).toEqual([]);
  });

  it('names the operation whose path is not in the template, and says what to write', () => {
    const causes = validate(overrides({ path: '/spec/replicas', value: 3 }, { path: '/spec/strategy/type', value: 'Recreate' }));
    expect(fields(causes)).toEqual(['spec.overrides[0].clusterOverrides[1].path: FieldValueInvalid']);
    expect(messageOf(causes, 'spec.overrides[0].clusterOverrides[1].path')).toContain('("/spec" has no "strategy"): add the parent first');
    const add = validate(overrides({ op: 'add', path: '/spec/strategy/type', value: 'Recreate' }));
    expect(messageOf(add, 'spec.overrides[0].clusterOverrides[0].path')).toContain('parent');
    const scalar = validate(overrides({ op: 'add', path: '/spec/replicas/x', value: 1 }));
    expect(messageOf(scalar, 'spec.overrides[0].clusterOverrides[0].path')).toContain('holds a number at "replicas"');
    const index = validate(overrides({ path: '/spec/template/spec/containers/3/image', value: 'x' }));
    expect(messageOf(index, 'spec.overrides[0].clusterOverrides[0].path')).toContain('"/spec/template/spec/containers" is an array of 1 elements here');
    const deep = validate(overrides({ path: '/spec/selector/matchLabels/app', value: 'x' }));
    expect(messageOf(deep, 'spec.overrides[0].clusterOverrides[0].path')).toContain('("/spec" has no "selector")');
  });

  it('sees earlier operations of the same cluster', () => {
    expect(validate(overrides({ op: 'remove', path: '/spec/template' }, { path: '/spec/template/spec', value: {} }))).toHaveLength(1);
    expect(validate(overrides({ op: 'add', path: '/spec/strategy', value: {} }, { path: '/spec/strategy/type', value: 'Recreate' }))).toEqual([]);
  });

  it('kubefed semantics: replace of a missing key adds it, remove of a missing key does nothing, when the parent exists', () => {
    expect(validate(overrides({ path: '/spec/paused', value: true }, { op: 'remove', path: '/spec/minReadySeconds' }))).toEqual([]);
    const removeAt = validate(overrides({ op: 'remove', path: '/spec/template/spec/containers/1' }));
    expect(messageOf(removeAt, 'spec.overrides[0].clusterOverrides[0].path')).toContain('an array of 1 elements');
  });

  it('refuses malformed operations', () => {
    const causes = validate(overrides({ op: 'move', path: '/spec/replicas' }, { path: 'spec/replicas', value: 1 }, { path: '/spec/replicas' }, { value: 1 }, { path: '/spec/a~2b', value: 1 }, 7));
    expect(fields(causes)).toEqual([
      'spec.overrides[0].clusterOverrides[0].op: FieldValueNotSupported',
      'spec.overrides[0].clusterOverrides[1].path: FieldValueInvalid',
      'spec.overrides[0].clusterOverrides[2].value: FieldValueRequired',
      'spec.overrides[0].clusterOverrides[3].path: FieldValueRequired',
      'spec.overrides[0].clusterOverrides[4].path: FieldValueInvalid',
      'spec.overrides[0].clusterOverrides[5]: FieldValueInvalid',
    ]);
    expect(messageOf(causes, 'spec.overrides[0].clusterOverrides[1].path')).toContain('starting with "/"');
    expect(messageOf(causes, 'spec.overrides[0].clusterOverrides[2].value')).toContain('op "remove"');
  });

  it('refuses paths overrides never change', () => {
    for (const path of ['/', '/apiVersion', '/kind', '/metadata', '/metadata/name', '/metadata/namespace', '/status/replicas', '/metadata/resourceVersion', '/metadata/labels/federation.flotilla.io~1managed-by', '/metadata/annotations/federation.flotilla.io~1hash', '/spec/__proto__/x']) {
      const causes = validate(overrides({ path, value: 'x' }));
      expect(causes.map((c) => c.field)).toEqual(['spec.overrides[0].clusterOverrides[0].path']);
    }
  });

  it('refuses a FederatedSecret override of data or stringData', () => {
    const secret = (path: string) =>
      validateFederatedObject(FS, { metadata: { name: 's', namespace: 'shop' }, spec: { template: { type: 'Opaque', data: { a: 'eA==' } }, overrides: [{ clusterName: 'a', clusterOverrides: [{ path, value: 'x' }] }] } }, 'shop');
    for (const path of ['/data', '/data/a', '/stringData/b']) {
      const causes = secret(path);
      expect(fields(causes)).toEqual(['spec.overrides[0].clusterOverrides[0].path: FieldValueForbidden']);
      expect(causes[0]!.message).toContain('one FederatedSecret per placement');
    }
    expect(secret('/type')).toEqual([]);
  });

  it('refuses entries without a cluster, repeated clusters, and missing lists', () => {
    const causes = validate({ overrides: [{ clusterName: 'a', clusterOverrides: [] }, { clusterName: 'a', clusterOverrides: [] }, { clusterOverrides: [] }, { clusterName: 'b' }, 'x'] });
    expect(fields(causes)).toEqual([
      'spec.overrides[1].clusterName: FieldValueDuplicate',
      'spec.overrides[2].clusterName: FieldValueRequired',
      'spec.overrides[3].clusterOverrides: FieldValueRequired',
      'spec.overrides[4]: FieldValueInvalid',
    ]);
    expect(fields(validate({ overrides: {} }))).toEqual(['spec.overrides: FieldValueInvalid']);
  });

  it('bounds entries, operations and the work of trying them', () => {
    const many = { overrides: Array.from({ length: 4 }, (_, i) => ({ clusterName: `c${i}`, clusterOverrides: [] })) };
    expect(fields(validateFederatedObject(FD, withSpec(many), 'shop', { maxOverrides: 3 }))).toEqual(['spec.overrides: TooMany']);
    const ops = overrides(...Array.from({ length: 4 }, () => ({ path: '/spec/replicas', value: 1 })));
    expect(fields(validateFederatedObject(FD, withSpec(ops), 'shop', { maxOverrideOps: 3 }))).toEqual(['spec.overrides[0].clusterOverrides: TooMany']);
    const work = validateFederatedObject(FD, withSpec(many), 'shop', { maxOverrideWorkBytes: 300 });
    expect(fields(work)).toEqual(['spec.overrides: TooMany']);
    expect(work[0]!.message).toMatch(/at most \d+ override entries, got 4/);
  });
});

describe('validateFederatedObject: overrides past the end of an array', () => {
  it('says how long the array is when an add names an index past its end', () => {
    const causes = validate({ overrides: [{ clusterName: 'a', clusterOverrides: [{ op: 'add', path: '/spec/template/spec/containers/5', value: {} }] }] });
    expect(messageOf(causes, 'spec.overrides[0].clusterOverrides[0].path')).toContain('an array of 1 elements');
  });
});
