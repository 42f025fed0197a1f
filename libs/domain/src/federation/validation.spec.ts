import { federatedKindByKind } from './kinds';
import { federatedUnknownFields, validateFederatedObject } from './validation';

const kind = (k: string) => federatedKindByKind(k)!;
const FD = kind('FederatedDeployment');
const FO = kind('FederatedObject');
const CFO = kind('ClusterFederatedObject');

function deployment(overrides: Record<string, unknown> = {}, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'types.kubefed.io/v1beta1',
    kind: 'FederatedDeployment',
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      template: { metadata: { labels: { app: 'web' } }, spec: { replicas: 2, template: { spec: { containers: [{ name: 'web', image: 'nginx:1' }] } } } },
      placement: { clusterSelector: { matchLabels: { env: 'prod' } } },
      ...spec,
    },
    ...overrides,
  };
}

const fields = (causes: { field: string; reason: string }[]) => causes.map((c) => `${c.field}: ${c.reason}`);
const messageOf = (causes: { field: string; message: string }[], field: string) => causes.find((c) => c.field === field)?.message ?? '';

describe('validateFederatedObject: the object', () => {
  it('accepts a kubefed FederatedDeployment', () => {
    expect(validateFederatedObject(FD, deployment(), 'shop')).toEqual([]);
  });

  it('refuses a non-object, a missing spec and a missing template', () => {
    expect(fields(validateFederatedObject(FD, 'x', 'shop'))).toEqual([': FieldValueInvalid']);
    expect(fields(validateFederatedObject(FD, { metadata: { name: 'web' } }, 'shop'))).toEqual(['spec: FieldValueRequired']);
    expect(fields(validateFederatedObject(FD, deployment({}, { template: undefined }), 'shop'))).toEqual(['spec.template: FieldValueRequired']);
    expect(fields(validateFederatedObject(FD, deployment({}, { template: [1] }), 'shop'))).toEqual(['spec.template: FieldValueInvalid']);
  });

  it('checks apiVersion and kind against the path', () => {
    const causes = validateFederatedObject(FD, deployment({ apiVersion: 'types.kubefed.io/v1beta2', kind: 'FederatedStatefulSet' }), 'shop');
    expect(fields(causes)).toEqual(['apiVersion: FieldValueInvalid', 'kind: FieldValueInvalid']);
    expect(messageOf(causes, 'apiVersion')).toContain('"types.kubefed.io/v1beta1"');
  });

  it('checks name and namespace', () => {
    expect(fields(validateFederatedObject(FD, deployment({ metadata: { namespace: 'shop' } }), 'shop'))).toEqual(['metadata.name: FieldValueRequired']);
    expect(fields(validateFederatedObject(FD, deployment({ metadata: { name: 'Web_1', namespace: 'shop' } }), 'shop'))).toEqual(['metadata.name: FieldValueInvalid']);
    const other = validateFederatedObject(FD, deployment({ metadata: { name: 'web', namespace: 'other' } }), 'shop');
    expect(fields(other)).toEqual(['metadata.namespace: FieldValueInvalid']);
    expect(messageOf(other, 'metadata.namespace')).toContain('write "shop"');
    expect(fields(validateFederatedObject(FD, deployment(), ''))).toEqual(['metadata.namespace: FieldValueRequired']);
  });

  it('a Service name is a DNS-1035 label', () => {
    const svc = { metadata: { name: '1web', namespace: 'shop' }, spec: { template: { spec: { ports: [{ port: 80 }] } } } };
    expect(fields(validateFederatedObject(kind('FederatedService'), svc, 'shop'))).toEqual(['metadata.name: FieldValueInvalid']);
  });

  it('a FederatedNamespace is named after its namespace and places no namespace', () => {
    const info = kind('FederatedNamespace');
    expect(validateFederatedObject(info, { metadata: { name: 'shop', namespace: 'shop' }, spec: { template: {}, placement: { clusters: [] } } }, 'shop')).toEqual([]);
    // kubefed's own samples give a FederatedNamespace a placement only.
    expect(validateFederatedObject(info, { metadata: { name: 'shop', namespace: 'shop' }, spec: { placement: { clusterSelector: {} } } }, 'shop')).toEqual([]);
    const wrong = validateFederatedObject(info, { metadata: { name: 'other', namespace: 'shop' }, spec: { template: {} } }, 'shop');
    expect(fields(wrong)).toEqual(['metadata.name: FieldValueInvalid']);
    expect(messageOf(wrong, 'metadata.name')).toContain('name it "shop"');
    const ns = validateFederatedObject(info, { metadata: { name: 'shop' }, spec: { template: { metadata: { namespace: 'shop' } } } }, 'shop');
    expect(fields(ns)).toEqual(['spec.template.metadata.namespace: FieldValueForbidden']);
  });

  it('a cluster-scoped kind has no namespace', () => {
    const role = { metadata: { name: 'reader', namespace: 'x' }, spec: { template: { rules: [] } } };
    expect(fields(validateFederatedObject(kind('FederatedClusterRole'), role, undefined))).toEqual(['metadata.namespace: FieldValueForbidden']);
    expect(validateFederatedObject(kind('FederatedClusterRole'), { ...role, metadata: { name: 'reader' } }, undefined)).toEqual([]);
  });

  it('checks the policy annotations', () => {
    const annotations = { 'federation.flotilla.io/retain': 'yes', 'federation.flotilla.io/adopt': 'false', 'federation.flotilla.io/drift': 'ignore' };
    const causes = validateFederatedObject(FD, deployment({ metadata: { name: 'web', namespace: 'shop', annotations } }), 'shop');
    expect(fields(causes)).toEqual(['metadata.annotations[federation.flotilla.io/retain]: FieldValueNotSupported', 'metadata.annotations[federation.flotilla.io/drift]: FieldValueNotSupported']);
    expect(messageOf(causes, 'metadata.annotations[federation.flotilla.io/drift]')).toContain('"repair", "report"');
  });

  it('limits the template size (a parameter) and the nesting depth', () => {
    const big = deployment({}, { template: { spec: { blob: 'x'.repeat(2000) } } });
    expect(validateFederatedObject(FD, big, 'shop', { maxTemplateBytes: 4096 })).toEqual([]);
    const causes = validateFederatedObject(FD, big, 'shop', { maxTemplateBytes: 1000 });
    expect(fields(causes)).toEqual(['spec.template: FieldValueTooLong']);
    expect(messageOf(causes, 'spec.template')).toMatch(/at most 1000 bytes as JSON, got \d+/);
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 100; i++) deep = { a: deep };
    const tooDeep = validateFederatedObject(FD, deployment({}, { template: { spec: deep } }), 'shop');
    expect(tooDeep).toHaveLength(1);
    expect(tooDeep[0]!.field).toMatch(/^spec\.template\.spec(\.a)+$/);
    expect(tooDeep[0]!.message).toContain('deeper than 64 levels');
  });

  it('lists unknown fields outside the template', () => {
    const obj = deployment({ extra: 1 }, { overides: [], placement: { cluster: [], clusterSelector: { matchLabel: {} } }, overrides: [{ clusterName: 'a', clusterOverrides: [{ path: '/x', valu: 1 }], x: 1 }] });
    expect(federatedUnknownFields(obj)).toEqual([
      'extra', 'spec.overides', 'spec.placement.cluster', 'spec.placement.clusterSelector.matchLabel', 'spec.overrides[0].x', 'spec.overrides[0].clusterOverrides[0].valu',
    ]);
    expect(federatedUnknownFields(deployment())).toEqual([]);
  });
});

describe('validateFederatedObject: the template', () => {
  it('a kubefed kind may repeat its apiVersion and kind, but not others', () => {
    expect(validateFederatedObject(FD, deployment({}, { template: { apiVersion: 'apps/v1', kind: 'Deployment', spec: {} } }), 'shop')).toEqual([]);
    const causes = validateFederatedObject(FD, deployment({}, { template: { apiVersion: 'apps/v1beta1', kind: 'StatefulSet' } }), 'shop');
    expect(fields(causes)).toEqual(['spec.template.apiVersion: FieldValueInvalid', 'spec.template.kind: FieldValueInvalid']);
    expect(messageOf(causes, 'spec.template.apiVersion')).toContain('write "apps/v1"');
  });

  it('template metadata must agree with the federated object', () => {
    const causes = validateFederatedObject(FD, deployment({}, { template: { metadata: { name: 'other', namespace: 'elsewhere', generateName: 'x-', ownerReferences: [] } } }), 'shop');
    expect(fields(causes)).toEqual([
      'spec.template.metadata.name: FieldValueInvalid',
      'spec.template.metadata.namespace: FieldValueInvalid',
      'spec.template.metadata.ownerReferences: FieldValueForbidden',
      'spec.template.metadata.generateName: FieldValueForbidden',
    ]);
    expect(messageOf(causes, 'spec.template.metadata.name')).toContain('remove spec.template.metadata.name or write "web"');
    expect(messageOf(causes, 'spec.template.metadata.namespace')).toContain('write "shop"');
    expect(validateFederatedObject(FD, deployment({}, { template: { metadata: { name: 'web', namespace: 'shop', creationTimestamp: null } } }), 'shop')).toEqual([]);
  });

  it('template labels and annotations are checked, and Flotilla\'s marks are refused', () => {
    const metadata = { labels: { 'bad key!': 'x', 'federation.flotilla.io/managed-by': 'x' }, annotations: { 'federation.flotilla.io/hash': 'x' } };
    expect(fields(validateFederatedObject(FD, deployment({}, { template: { metadata } }), 'shop'))).toEqual([
      'spec.template.metadata.labels: FieldValueInvalid',
      'spec.template.metadata.labels[federation.flotilla.io/managed-by]: FieldValueForbidden',
      'spec.template.metadata.annotations[federation.flotilla.io/hash]: FieldValueForbidden',
    ]);
  });

  it('a FederatedSecret\'s data must be base64 and is never echoed', () => {
    const secret = { metadata: { name: 's', namespace: 'shop' }, spec: { template: { data: { ok: 'aGk=', bad: 'hunter2!' }, stringData: { n: 5 } } } };
    const causes = validateFederatedObject(kind('FederatedSecret'), secret, 'shop');
    expect(fields(causes)).toEqual(['spec.template.data[bad]: FieldValueInvalid', 'spec.template.stringData[n]: FieldValueInvalid']);
    expect(JSON.stringify(causes)).not.toContain('hunter2');
    expect(messageOf(causes, 'spec.template.data[bad]')).toContain('stringData');
  });

  it('a FederatedConfigMap\'s keys and values are checked', () => {
    const cm = { metadata: { name: 'c', namespace: 'shop' }, spec: { template: { data: { 'a/b': 'x', n: 1 }, binaryData: { b: '!!' } } } };
    expect(fields(validateFederatedObject(kind('FederatedConfigMap'), cm, 'shop'))).toEqual([
      'spec.template.data: FieldValueInvalid',
      'spec.template.data[n]: FieldValueInvalid',
      'spec.template.binaryData[b]: FieldValueInvalid',
    ]);
  });
});

describe('validateFederatedObject: FederatedObject templates', () => {
  const generic = (template: Record<string, unknown>, namespace: string | null = 'shop') => ({ metadata: { name: 'thing', ...(namespace ? { namespace } : {}) }, spec: { template } });

  it('needs a well-formed apiVersion and kind', () => {
    expect(fields(validateFederatedObject(FO, generic({}), 'shop'))).toEqual(['spec.template.apiVersion: FieldValueRequired', 'spec.template.kind: FieldValueRequired']);
    expect(fields(validateFederatedObject(FO, generic({ apiVersion: 'Apps/V1', kind: 'deployment' }), 'shop'))).toEqual([
      'spec.template.apiVersion: FieldValueInvalid',
      'spec.template.kind: FieldValueInvalid',
    ]);
    expect(fields(validateFederatedObject(FO, generic({ apiVersion: 'a/b/v1', kind: 'X' }), 'shop'))).toEqual(['spec.template.apiVersion: FieldValueInvalid']);
  });

  it('accepts built-in kinds of its scope and any custom resource', () => {
    expect(validateFederatedObject(FO, generic({ apiVersion: 'apps/v1', kind: 'Deployment' }), 'shop')).toEqual([]);
    expect(validateFederatedObject(FO, generic({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' }), 'shop')).toEqual([]);
    expect(validateFederatedObject(FO, generic({ apiVersion: 'example.com/v1alpha1', kind: 'Widget' }), 'shop')).toEqual([]);
    expect(validateFederatedObject(CFO, generic({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' }, null), undefined)).toEqual([]);
    expect(validateFederatedObject(CFO, generic({ apiVersion: 'example.com/v1', kind: 'ClusterWidget' }, null), undefined)).toEqual([]);
  });

  it('refuses a kind the built-in group does not have, with a suggestion', () => {
    const causes = validateFederatedObject(FO, generic({ apiVersion: 'apps/v1', kind: 'Deploymen' }), 'shop');
    expect(fields(causes)).toEqual(['spec.template.kind: FieldValueInvalid']);
    expect(messageOf(causes, 'spec.template.kind')).toContain('its kinds are ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet');
    const cased = validateFederatedObject(FO, generic({ apiVersion: 'v1', kind: 'Configmap' }), 'shop');
    expect(messageOf(cased, 'spec.template.kind')).toContain('did you mean "ConfigMap"?');
  });

  it('refuses a version the group does not serve, listing those it does', () => {
    const causes = validateFederatedObject(FO, generic({ apiVersion: 'apps/v1beta1', kind: 'Deployment' }), 'shop');
    expect(fields(causes)).toEqual(['spec.template.apiVersion: FieldValueNotSupported']);
    expect(messageOf(causes, 'spec.template.apiVersion')).toContain('"apps/v1"');
  });

  it('the template\'s scope must be the federated object\'s', () => {
    const cr = validateFederatedObject(FO, generic({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' }), 'shop');
    expect(fields(cr)).toEqual(['spec.template.kind: FieldValueInvalid']);
    expect(messageOf(cr, 'spec.template.kind')).toContain('ClusterFederatedObject');
    const dep = validateFederatedObject(CFO, generic({ apiVersion: 'apps/v1', kind: 'Deployment' }, null), undefined);
    expect(messageOf(dep, 'spec.template.kind')).toContain('namespaced: place it with a FederatedObject');
    const ns = validateFederatedObject(CFO, generic({ apiVersion: 'example.com/v1', kind: 'X', metadata: { namespace: 'a' } }, null), undefined);
    expect(fields(ns)).toEqual(['spec.template.metadata.namespace: FieldValueForbidden']);
  });

  it('refuses Secrets (use FederatedSecret) and Namespaces (use FederatedNamespace)', () => {
    expect(messageOf(validateFederatedObject(FO, generic({ apiVersion: 'v1', kind: 'Secret', data: {} }), 'shop'), 'spec.template.kind')).toContain('FederatedSecret');
    expect(messageOf(validateFederatedObject(CFO, generic({ apiVersion: 'v1', kind: 'Namespace' }, null), undefined), 'spec.template.kind')).toContain('FederatedNamespace');
  });
});
