/**
 * The federated kinds Flotilla serves: kubefed's types.kubefed.io/v1beta1 kinds, each placing one
 * built-in kind, and Flotilla's FederatedObject / ClusterFederatedObject (types.flotilla.io/v1alpha1),
 * whose template names its own apiVersion and kind (any kind, a custom resource included).
 */
export interface FederatedTarget {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export interface FederatedKindInfo {
  kind: string;
  listKind: string;
  singular: string;
  plural: string;
  group: string;
  version: string;
  /** The object-store key: `<plural>.<group>`. */
  storeKey: string;
  /** Whether the federated object itself is namespaced. */
  namespaced: boolean;
  /** The placed kind; absent for FederatedObject and ClusterFederatedObject (their template names it). */
  target?: FederatedTarget;
  /** Deployments, StatefulSets, DaemonSets and Jobs: their members' status is summarised back. */
  workload?: boolean;
  /** A ReplicaSchedulingPreference may divide its replicas (FederatedDeployment, FederatedStatefulSet). */
  replicaScheduling?: boolean;
}

export const KUBEFED_TYPES_GROUP = 'types.kubefed.io';
export const KUBEFED_TYPES_VERSION = 'v1beta1';
export const FLOTILLA_TYPES_GROUP = 'types.flotilla.io';
export const FLOTILLA_TYPES_VERSION = 'v1alpha1';
export const FEDERATED_OBJECT_KIND = 'FederatedObject';
export const CLUSTER_FEDERATED_OBJECT_KIND = 'ClusterFederatedObject';

interface KindInput {
  kind: string;
  plural: string;
  group: string;
  version: string;
  namespaced: boolean;
  target?: FederatedTarget;
  workload?: boolean;
  replicaScheduling?: boolean;
}

function info(k: KindInput): FederatedKindInfo {
  return Object.freeze({
    ...k,
    listKind: `${k.kind}List`,
    singular: k.kind.toLowerCase(),
    storeKey: `${k.plural}.${k.group}`,
    ...(k.target ? { target: Object.freeze({ ...k.target }) } : {}),
  });
}

const kubefed = (kind: string, target: FederatedTarget, extra: Partial<KindInput> = {}): FederatedKindInfo =>
  info({ kind: `Federated${kind}`, plural: `federated${kind.toLowerCase()}s`, group: KUBEFED_TYPES_GROUP, version: KUBEFED_TYPES_VERSION, namespaced: true, target, ...extra });

const t = (apiVersion: string, kind: string, plural: string, namespaced = true): FederatedTarget => ({ apiVersion, kind, plural, namespaced });

export const FEDERATED_KINDS: readonly FederatedKindInfo[] = Object.freeze([
  kubefed('Namespace', t('v1', 'Namespace', 'namespaces', false)),
  kubefed('ConfigMap', t('v1', 'ConfigMap', 'configmaps')),
  kubefed('Secret', t('v1', 'Secret', 'secrets')),
  kubefed('Deployment', t('apps/v1', 'Deployment', 'deployments'), { workload: true, replicaScheduling: true }),
  kubefed('StatefulSet', t('apps/v1', 'StatefulSet', 'statefulsets'), { workload: true, replicaScheduling: true }),
  kubefed('DaemonSet', t('apps/v1', 'DaemonSet', 'daemonsets'), { workload: true }),
  kubefed('Job', t('batch/v1', 'Job', 'jobs'), { workload: true }),
  kubefed('Service', t('v1', 'Service', 'services')),
  kubefed('Ingress', t('networking.k8s.io/v1', 'Ingress', 'ingresses'), { plural: 'federatedingresses' }),
  kubefed('ServiceAccount', t('v1', 'ServiceAccount', 'serviceaccounts')),
  kubefed('ClusterRole', t('rbac.authorization.k8s.io/v1', 'ClusterRole', 'clusterroles', false), { namespaced: false }),
  kubefed('ClusterRoleBinding', t('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'clusterrolebindings', false), { namespaced: false }),
  info({ kind: FEDERATED_OBJECT_KIND, plural: 'federatedobjects', group: FLOTILLA_TYPES_GROUP, version: FLOTILLA_TYPES_VERSION, namespaced: true }),
  info({ kind: CLUSTER_FEDERATED_OBJECT_KIND, plural: 'clusterfederatedobjects', group: FLOTILLA_TYPES_GROUP, version: FLOTILLA_TYPES_VERSION, namespaced: false }),
]);

/** kubefed's ReplicaSchedulingPreference (not a federated kind: it steers a FederatedDeployment's or FederatedStatefulSet's replicas). */
export const REPLICA_SCHEDULING_PREFERENCE = info({
  kind: 'ReplicaSchedulingPreference',
  plural: 'replicaschedulingpreferences',
  group: 'scheduling.kubefed.io',
  version: 'v1alpha1',
  namespaced: true,
});

const byGroupPlural = new Map(FEDERATED_KINDS.map((k) => [`${k.plural}.${k.group}`, k]));
const byKind = new Map(FEDERATED_KINDS.map((k) => [k.kind, k]));
const byStoreKey = byGroupPlural;

export function federatedKindByPlural(group: string, plural: string): FederatedKindInfo | undefined {
  return byGroupPlural.get(`${plural}.${group}`);
}

export function federatedKindByKind(kind: string): FederatedKindInfo | undefined {
  return byKind.get(kind);
}

export function federatedKindByStoreKey(storeKey: string): FederatedKindInfo | undefined {
  return byStoreKey.get(storeKey);
}

/** The apiVersion of a federated kind (`<group>/<version>`). */
export const federatedApiVersion = (k: { group: string; version: string }) => `${k.group}/${k.version}`;
