/**
 * The kubefed YAML the proof brings, as a KubeSphere user has it (docs/federation.md walks through
 * the same documents): the host Namespace, a FederatedNamespace and a FederatedDeployment placed by label, with an image
 * override for one cluster.
 */
export const IMAGE = 'nginx:1.25';
export const OVERRIDDEN_IMAGE = 'nginx:1.25-alpine';
export const PLACE_LABEL = 'tier';
export const PLACE_VALUE = 'web';

export const SHOP_YAML = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: types.kubefed.io/v1beta1
kind: FederatedNamespace
metadata:
  name: shop
  namespace: shop
spec:
  placement:
    clusterSelector:
      matchLabels:
        ${PLACE_LABEL}: ${PLACE_VALUE}
---
apiVersion: types.kubefed.io/v1beta1
kind: FederatedDeployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    metadata:
      labels:
        app: web
    spec:
      replicas: 2
      selector:
        matchLabels:
          app: web
      template:
        metadata:
          labels:
            app: web
        spec:
          containers:
          - name: web
            image: ${IMAGE}
  placement:
    clusterSelector:
      matchLabels:
        ${PLACE_LABEL}: ${PLACE_VALUE}
  overrides:
  - clusterName: m2
    clusterOverrides:
    - path: /spec/template/spec/containers/0/image
      value: ${OVERRIDDEN_IMAGE}
`;

/** A ConfigMap federated to m1 and m2 by name (m1 already has one of that name, made by hand). */
export function federatedConfigMap(annotations: Record<string, string> = {}) {
  return {
    apiVersion: 'types.kubefed.io/v1beta1',
    kind: 'FederatedConfigMap',
    metadata: { name: 'settings', namespace: 'shop', annotations },
    spec: {
      template: { data: { mode: 'federated' } },
      placement: { clusters: [{ name: 'm1' }, { name: 'm2' }] },
    },
  };
}

/** A Secret federated to m1: one value given as data (base64), one as stringData. */
export function federatedSecret(password: string, token: string) {
  return {
    apiVersion: 'types.kubefed.io/v1beta1',
    kind: 'FederatedSecret',
    metadata: { name: 'db-credentials', namespace: 'shop' },
    spec: {
      template: { type: 'Opaque', data: { password: Buffer.from(password).toString('base64') }, stringData: { token } },
      placement: { clusters: [{ name: 'm1' }] },
    },
  };
}

/** A FederatedDeployment on m1 and m2 whose replicas a ReplicaSchedulingPreference divides 7/3. */
export const API_DEPLOYMENT = {
  apiVersion: 'types.kubefed.io/v1beta1',
  kind: 'FederatedDeployment',
  metadata: { name: 'api', namespace: 'shop' },
  spec: {
    template: {
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'api' } },
        template: { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'api', image: 'ghcr.io/example/api:2.1' }] } },
      },
    },
    placement: { clusters: [{ name: 'm1' }, { name: 'm2' }] },
  },
};

export const API_PREFERENCE = {
  apiVersion: 'scheduling.kubefed.io/v1alpha1',
  kind: 'ReplicaSchedulingPreference',
  metadata: { name: 'api', namespace: 'shop' },
  spec: { targetKind: 'FederatedDeployment', totalReplicas: 10, clusters: { m1: { weight: 7 }, m2: { weight: 3 } } },
};
