import { FlotillaError } from '../errors/flotilla-error';
import { FEDERATED_OBJECT_ANNOTATION, HASH_ANNOTATION, MANAGED_BY_LABEL } from './constants';
import { federatedKindByKind } from './kinds';
import { canonicalHash, canonicalJson, memberObjectFor } from './member-object';

const FD = federatedKindByKind('FederatedDeployment')!;

function fed() {
  return {
    apiVersion: 'types.kubefed.io/v1beta1',
    kind: 'FederatedDeployment',
    metadata: { name: 'web', namespace: 'shop', uid: 'u1', resourceVersion: '9', annotations: { 'federation.flotilla.io/retain': 'true' } },
    spec: {
      template: {
        metadata: { labels: { app: 'web' }, resourceVersion: '3', creationTimestamp: null, uid: 'x' },
        spec: { replicas: 2, template: { spec: { containers: [{ name: 'web', image: 'nginx:1' }] } } },
        status: { readyReplicas: 2 },
      },
      placement: { clusters: [{ name: 'a' }, { name: 'b' }] },
      overrides: [
        { clusterName: 'a', clusterOverrides: [{ path: '/spec/template/spec/containers/0/image', value: 'nginx:2' }, { path: '/metadata/labels/tier', value: 'gold' }] },
        { clusterName: 'c', clusterOverrides: [{ op: 'remove', path: '/spec/replicas' }] },
      ],
    },
    status: { observedGeneration: 1 },
  };
}

describe('memberObjectFor', () => {
  it('places the template with the cluster\'s overrides, name, namespace and Flotilla\'s marks', () => {
    const member = memberObjectFor(FD, fed(), 'a');
    const { [HASH_ANNOTATION]: hash, ...annotations } = member.metadata.annotations;
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect({ ...member, metadata: { ...member.metadata, annotations } }).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'web',
        namespace: 'shop',
        labels: { app: 'web', tier: 'gold', [MANAGED_BY_LABEL]: 'shop.web' },
        annotations: { [FEDERATED_OBJECT_ANNOTATION]: 'federateddeployments.types.kubefed.io/shop/web' },
      },
      spec: { replicas: 2, template: { spec: { containers: [{ name: 'web', image: 'nginx:2' }] } } },
    });
  });

  it('other clusters get the template without those overrides; status and member-set metadata are dropped', () => {
    const b = memberObjectFor(FD, fed(), 'b');
    expect(b.spec).toEqual({ replicas: 2, template: { spec: { containers: [{ name: 'web', image: 'nginx:1' }] } } });
    expect(b.status).toBeUndefined();
    expect(Object.keys(b.metadata).sort()).toEqual(['annotations', 'labels', 'name', 'namespace']);
    expect((memberObjectFor(FD, fed(), 'c').spec as Record<string, unknown>).replicas).toBeUndefined();
  });

  it('is deterministic: byte-identical JSON for equal input, whatever the key order, with sorted keys', () => {
    const one = JSON.stringify(memberObjectFor(FD, fed(), 'a'));
    expect(JSON.stringify(memberObjectFor(FD, fed(), 'a'))).toBe(one);
    const reordered = fed();
    reordered.spec.template = { status: reordered.spec.template.status, spec: reordered.spec.template.spec, metadata: reordered.spec.template.metadata } as typeof reordered.spec.template;
    expect(JSON.stringify(memberObjectFor(FD, reordered, 'a'))).toBe(one);
    expect(Object.keys(JSON.parse(one))).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(one).toBe(canonicalJson(JSON.parse(one)));
  });

  it('the hash annotation is the canonical hash of the object without it, and changes with the object', () => {
    const a = memberObjectFor(FD, fed(), 'a');
    expect(canonicalHash(a)).toBe(a.metadata.annotations[HASH_ANNOTATION]);
    expect(memberObjectFor(FD, fed(), 'b').metadata.annotations[HASH_ANNOTATION]).not.toBe(a.metadata.annotations[HASH_ANNOTATION]);
    const changed = fed();
    changed.spec.template.spec.replicas = 3;
    expect(memberObjectFor(FD, changed, 'a').metadata.annotations[HASH_ANNOTATION]).not.toBe(a.metadata.annotations[HASH_ANNOTATION]);
    const statusOnly = fed();
    statusOnly.spec.template.status = { readyReplicas: 0 };
    statusOnly.status = { observedGeneration: 7 };
    expect(memberObjectFor(FD, statusOnly, 'a').metadata.annotations[HASH_ANNOTATION]).toBe(a.metadata.annotations[HASH_ANNOTATION]);
  });

  it('never mutates its input', () => {
    const input = fed();
    const before = JSON.stringify(input);
    const member = memberObjectFor(FD, input, 'a');
    expect(JSON.stringify(input)).toBe(before);
    (member.spec as { replicas: number }).replicas = 99;
    member.metadata.labels.x = 'y';
    expect(JSON.stringify(input)).toBe(before);
    const noOverrides = fed();
    const untouched = JSON.stringify(noOverrides);
    const m = memberObjectFor(FD, noOverrides, 'zzz');
    (m.metadata.labels as Record<string, string>).app = 'changed';
    expect(JSON.stringify(noOverrides)).toBe(untouched);
  });

  it('applies overrides in order with kubefed semantics (replace of a missing key adds it)', () => {
    const input = fed();
    input.spec.overrides = [
      {
        clusterName: 'a',
        clusterOverrides: [
          { path: '/spec/paused', value: true },
          { op: 'add', path: '/spec/template/spec/containers/-', value: { name: 'side', image: 's' } },
          { op: 'remove', path: '/spec/template/spec/containers/0' },
          { op: 'remove', path: '/spec/nothing' },
        ] as never,
      },
    ];
    expect(memberObjectFor(FD, input, 'a').spec).toEqual({ paused: true, replicas: 2, template: { spec: { containers: [{ name: 'side', image: 's' }] } } });
  });

  it('label and annotation overrides need not exist in the template', () => {
    const input = fed();
    input.spec.template.metadata = {} as typeof input.spec.template.metadata;
    input.spec.overrides = [{ clusterName: 'a', clusterOverrides: [{ path: '/metadata/labels/tier', value: 'gold' }, { op: 'remove', path: '/metadata/annotations/none' } as never] }];
    expect(memberObjectFor(FD, input, 'a').metadata.labels).toEqual({ tier: 'gold', [MANAGED_BY_LABEL]: 'shop.web' });
  });

  it('cluster-scoped kinds have no namespace; FederatedNamespace places its Namespace', () => {
    const role = memberObjectFor(federatedKindByKind('FederatedClusterRole')!, { metadata: { name: 'reader' }, spec: { template: { metadata: { namespace: 'x' }, rules: [] } } }, 'a');
    expect(role.metadata.namespace).toBeUndefined();
    expect(role.metadata.labels[MANAGED_BY_LABEL]).toBe('reader');
    expect(role.metadata.annotations[FEDERATED_OBJECT_ANNOTATION]).toBe('federatedclusterroles.types.kubefed.io//reader');
    const ns = memberObjectFor(federatedKindByKind('FederatedNamespace')!, { metadata: { name: 'shop', namespace: 'shop' }, spec: { template: {} } }, 'a');
    expect(ns).toMatchObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { [MANAGED_BY_LABEL]: 'shop.shop' } } });
    expect(ns.metadata.namespace).toBeUndefined();
  });

  it('FederatedObject and ClusterFederatedObject place the kind their template names', () => {
    const fo = memberObjectFor(federatedKindByKind('FederatedObject')!, { metadata: { name: 'w', namespace: 'shop' }, spec: { template: { apiVersion: 'example.com/v1', kind: 'Widget', spec: { size: 1 } } } }, 'a');
    expect(fo).toMatchObject({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'shop' }, spec: { size: 1 } });
    expect(fo.metadata.annotations[FEDERATED_OBJECT_ANNOTATION]).toBe('federatedobjects.types.flotilla.io/shop/w');
    const crd = memberObjectFor(federatedKindByKind('ClusterFederatedObject')!, { metadata: { name: 'widgets.example.com' }, spec: { template: { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' } } }, 'a');
    expect(crd.metadata.namespace).toBeUndefined();
    expect(() => memberObjectFor(federatedKindByKind('FederatedObject')!, { metadata: { name: 'w', namespace: 'shop' }, spec: { template: {} } }, 'a')).toThrow(FlotillaError);
  });

  it('an override that does not apply throws Invalid naming it', () => {
    const input = fed();
    input.spec.overrides = [{ clusterName: 'a', clusterOverrides: [{ path: '/spec/missing/x', value: 'x' }] }];
    const again = JSON.stringify(input);
    try {
      memberObjectFor(FD, input, 'a');
      throw new Error('applied');
    } catch (error) {
      expect(error).toBeInstanceOf(FlotillaError);
      expect((error as FlotillaError).reason).toBe('Invalid');
      expect((error as FlotillaError).details.causes?.[0]?.field).toBe('spec.overrides[0].clusterOverrides[0].path');
    }
    expect(JSON.stringify(input)).toBe(again);
  });

  it('Flotilla\'s marks win over the template\'s', () => {
    const input = fed();
    input.spec.template.metadata = { labels: { [MANAGED_BY_LABEL]: 'other' }, annotations: { [HASH_ANNOTATION]: 'x', [FEDERATED_OBJECT_ANNOTATION]: 'y' } } as never;
    const member = memberObjectFor(FD, input, 'b');
    expect(member.metadata.labels[MANAGED_BY_LABEL]).toBe('shop.web');
    expect(member.metadata.annotations[FEDERATED_OBJECT_ANNOTATION]).toBe('federateddeployments.types.kubefed.io/shop/web');
    expect(canonicalHash(member)).toBe(member.metadata.annotations[HASH_ANNOTATION]);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  });
});
