/**
 * The built-in API groups whose kinds Flotilla knows, so a FederatedObject template naming one of
 * them is checked when written (kind exists, version served, scope matches) rather than failing in
 * every member. Any other group (a CRD's) is accepted as written; the member decides.
 */
export interface BuiltinKind {
  kind: string;
  plural: string;
  namespaced: boolean;
}

interface BuiltinGroup {
  versions: readonly string[];
  kinds: readonly BuiltinKind[];
}

const ns = (kind: string, plural: string): BuiltinKind => ({ kind, plural, namespaced: true });
const cl = (kind: string, plural: string): BuiltinKind => ({ kind, plural, namespaced: false });

/** By group ('' is the core group, apiVersion `v1`). */
const GROUPS: ReadonlyMap<string, BuiltinGroup> = new Map<string, BuiltinGroup>([
  [
    '',
    {
      versions: ['v1'],
      kinds: [
        ns('ConfigMap', 'configmaps'), ns('Endpoints', 'endpoints'), ns('Event', 'events'), ns('LimitRange', 'limitranges'),
        cl('Namespace', 'namespaces'), cl('Node', 'nodes'), ns('PersistentVolumeClaim', 'persistentvolumeclaims'),
        cl('PersistentVolume', 'persistentvolumes'), ns('Pod', 'pods'), ns('PodTemplate', 'podtemplates'),
        ns('ReplicationController', 'replicationcontrollers'), ns('ResourceQuota', 'resourcequotas'), ns('Secret', 'secrets'),
        ns('ServiceAccount', 'serviceaccounts'), ns('Service', 'services'),
      ],
    },
  ],
  [
    'apps',
    {
      versions: ['v1'],
      kinds: [ns('ControllerRevision', 'controllerrevisions'), ns('DaemonSet', 'daemonsets'), ns('Deployment', 'deployments'), ns('ReplicaSet', 'replicasets'), ns('StatefulSet', 'statefulsets')],
    },
  ],
  ['batch', { versions: ['v1'], kinds: [ns('CronJob', 'cronjobs'), ns('Job', 'jobs')] }],
  [
    'rbac.authorization.k8s.io',
    {
      versions: ['v1'],
      kinds: [cl('ClusterRole', 'clusterroles'), cl('ClusterRoleBinding', 'clusterrolebindings'), ns('Role', 'roles'), ns('RoleBinding', 'rolebindings')],
    },
  ],
  [
    'networking.k8s.io',
    {
      versions: ['v1', 'v1beta1'],
      kinds: [ns('Ingress', 'ingresses'), cl('IngressClass', 'ingressclasses'), ns('NetworkPolicy', 'networkpolicies'), cl('IPAddress', 'ipaddresses'), cl('ServiceCIDR', 'servicecidrs')],
    },
  ],
  ['apiextensions.k8s.io', { versions: ['v1'], kinds: [cl('CustomResourceDefinition', 'customresourcedefinitions')] }],
  ['policy', { versions: ['v1'], kinds: [ns('PodDisruptionBudget', 'poddisruptionbudgets')] }],
  ['autoscaling', { versions: ['v1', 'v2'], kinds: [ns('HorizontalPodAutoscaler', 'horizontalpodautoscalers')] }],
  [
    'storage.k8s.io',
    {
      versions: ['v1', 'v1beta1'],
      kinds: [
        cl('CSIDriver', 'csidrivers'), cl('CSINode', 'csinodes'), ns('CSIStorageCapacity', 'csistoragecapacities'), cl('StorageClass', 'storageclasses'),
        cl('VolumeAttachment', 'volumeattachments'), cl('VolumeAttributesClass', 'volumeattributesclasses'),
      ],
    },
  ],
  ['scheduling.k8s.io', { versions: ['v1'], kinds: [cl('PriorityClass', 'priorityclasses')] }],
  ['coordination.k8s.io', { versions: ['v1'], kinds: [ns('Lease', 'leases')] }],
  ['discovery.k8s.io', { versions: ['v1'], kinds: [ns('EndpointSlice', 'endpointslices')] }],
  ['node.k8s.io', { versions: ['v1'], kinds: [cl('RuntimeClass', 'runtimeclasses')] }],
  [
    'admissionregistration.k8s.io',
    {
      versions: ['v1'],
      kinds: [
        cl('MutatingWebhookConfiguration', 'mutatingwebhookconfigurations'), cl('ValidatingWebhookConfiguration', 'validatingwebhookconfigurations'),
        cl('ValidatingAdmissionPolicy', 'validatingadmissionpolicies'), cl('ValidatingAdmissionPolicyBinding', 'validatingadmissionpolicybindings'),
      ],
    },
  ],
]);

/** Splits an apiVersion into group ('' for core) and version. */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export type BuiltinLookup =
  | { known: false }
  | { known: true; group: string; versions: readonly string[]; kinds: readonly BuiltinKind[]; kind?: BuiltinKind; versionServed: boolean };

/**
 * What Flotilla knows of an apiVersion and kind: `known: false` for a group it does not keep (a
 * CRD's); otherwise the group's versions and kinds, the kind when the group has it (also matched
 * without regard to case, for the message), and whether the version is one the group serves.
 */
export function builtinKind(apiVersion: string, kind: string): BuiltinLookup {
  const { group, version } = splitApiVersion(apiVersion);
  const g = GROUPS.get(group);
  if (!g) return { known: false };
  return { known: true, group, versions: g.versions, kinds: g.kinds, kind: g.kinds.find((k) => k.kind === kind), versionServed: g.versions.includes(version) };
}

export function isBuiltinGroup(group: string): boolean {
  return GROUPS.has(group);
}
