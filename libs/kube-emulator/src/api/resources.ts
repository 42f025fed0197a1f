/** The resource registry: what each virtual cluster serves and how discovery describes it. */
import { type JsonObject, type StructSchema } from '@flotilla/apply';
import { createHash } from 'node:crypto';
import { BUILTIN_SCHEMAS } from '../model/schema';

export const CRUD = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const CRUD_NO_COLLECTION = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];
const STATUS_VERBS = ['get', 'patch', 'update'];

export interface ResourceDef {
  group: string;
  version: string;
  /** plural name, e.g. `deployments`. */
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
  /** subresources served or advertised (`status`, `scale`, `token` …). */
  subresources: SubresourceDef[];
  schema?: StructSchema;
  /** metadata.generation is maintained (bumped on spec changes). */
  generation: boolean;
  /** served from a CustomResourceDefinition. */
  custom?: boolean;
  /** discovery `singularName` as the real server prints it ("" for built-ins in 1.26). */
  discoverySingular: string;
}

export interface SubresourceDef {
  name: string;
  kind: string;
  verbs: string[];
  group?: string;
  version?: string;
  /** advertised only (e.g. pods/exec): requests get 404/405 answers. */
  advertisedOnly?: boolean;
}

export function storageVersionHash(group: string, version: string, kind: string): string {
  return createHash('sha256').update(`${group}/${version}/${kind}`).digest().subarray(0, 8).toString('base64');
}

interface Spec {
  r: string;
  k: string;
  ns?: boolean;
  verbs?: string[];
  short?: string[];
  cat?: string[];
  sub?: SubresourceDef[];
  gen?: boolean;
  /** not persisted: create-only virtual resources such as SelfSubjectAccessReview. */
  virtual?: boolean;
}

const status = (kind: string): SubresourceDef => ({ name: 'status', kind, verbs: STATUS_VERBS });
const scale: SubresourceDef = { name: 'scale', kind: 'Scale', group: 'autoscaling', version: 'v1', verbs: STATUS_VERBS };

const GROUPS: Array<{ group: string; versions: Array<{ version: string; resources: Spec[] }> }> = [
  {
    group: '',
    versions: [
      {
        version: 'v1',
        resources: [
          { r: 'bindings', k: 'Binding', ns: true, verbs: ['create'], virtual: true },
          { r: 'componentstatuses', k: 'ComponentStatus', verbs: ['get', 'list'], short: ['cs'], virtual: true },
          { r: 'configmaps', k: 'ConfigMap', ns: true, short: ['cm'] },
          { r: 'endpoints', k: 'Endpoints', ns: true, short: ['ep'] },
          { r: 'events', k: 'Event', ns: true, short: ['ev'] },
          { r: 'limitranges', k: 'LimitRange', ns: true, short: ['limits'] },
          {
            r: 'namespaces',
            k: 'Namespace',
            verbs: CRUD_NO_COLLECTION,
            short: ['ns'],
            sub: [{ name: 'finalize', kind: 'Namespace', verbs: ['update'] }, status('Namespace')],
          },
          {
            r: 'nodes',
            k: 'Node',
            short: ['no'],
            sub: [{ name: 'proxy', kind: 'NodeProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'], advertisedOnly: true }, status('Node')],
          },
          { r: 'persistentvolumeclaims', k: 'PersistentVolumeClaim', ns: true, short: ['pvc'], sub: [status('PersistentVolumeClaim')] },
          { r: 'persistentvolumes', k: 'PersistentVolume', short: ['pv'], sub: [status('PersistentVolume')] },
          {
            r: 'pods',
            k: 'Pod',
            ns: true,
            short: ['po'],
            cat: ['all'],
            sub: [
              { name: 'attach', kind: 'PodAttachOptions', verbs: ['create', 'get'], advertisedOnly: true },
              { name: 'binding', kind: 'Binding', verbs: ['create'], advertisedOnly: true },
              { name: 'ephemeralcontainers', kind: 'Pod', verbs: STATUS_VERBS, advertisedOnly: true },
              { name: 'eviction', kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create'], advertisedOnly: true },
              { name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'], advertisedOnly: true },
              { name: 'log', kind: 'Pod', verbs: ['get'], advertisedOnly: true },
              { name: 'portforward', kind: 'PodPortForwardOptions', verbs: ['create', 'get'], advertisedOnly: true },
              { name: 'proxy', kind: 'PodProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'], advertisedOnly: true },
              status('Pod'),
            ],
          },
          { r: 'podtemplates', k: 'PodTemplate', ns: true },
          {
            r: 'replicationcontrollers',
            k: 'ReplicationController',
            ns: true,
            short: ['rc'],
            cat: ['all'],
            sub: [scale, status('ReplicationController')],
          },
          { r: 'resourcequotas', k: 'ResourceQuota', ns: true, short: ['quota'], sub: [status('ResourceQuota')] },
          { r: 'secrets', k: 'Secret', ns: true },
          {
            r: 'serviceaccounts',
            k: 'ServiceAccount',
            ns: true,
            short: ['sa'],
            sub: [{ name: 'token', kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1', verbs: ['create'] }],
          },
          {
            r: 'services',
            k: 'Service',
            ns: true,
            short: ['svc'],
            cat: ['all'],
            sub: [{ name: 'proxy', kind: 'ServiceProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'], advertisedOnly: true }, status('Service')],
          },
        ],
      },
    ],
  },
  {
    group: 'apiregistration.k8s.io',
    versions: [{ version: 'v1', resources: [{ r: 'apiservices', k: 'APIService', cat: ['api-extensions'], sub: [status('APIService')] }] }],
  },
  {
    group: 'apps',
    versions: [
      {
        version: 'v1',
        resources: [
          { r: 'controllerrevisions', k: 'ControllerRevision', ns: true },
          { r: 'daemonsets', k: 'DaemonSet', ns: true, short: ['ds'], cat: ['all'], sub: [status('DaemonSet')], gen: true },
          { r: 'deployments', k: 'Deployment', ns: true, short: ['deploy'], cat: ['all'], sub: [scale, status('Deployment')], gen: true },
          { r: 'replicasets', k: 'ReplicaSet', ns: true, short: ['rs'], cat: ['all'], sub: [scale, status('ReplicaSet')], gen: true },
          { r: 'statefulsets', k: 'StatefulSet', ns: true, short: ['sts'], cat: ['all'], sub: [scale, status('StatefulSet')], gen: true },
        ],
      },
    ],
  },
  { group: 'events.k8s.io', versions: [{ version: 'v1', resources: [{ r: 'events', k: 'Event', ns: true, short: ['ev'] }] }] },
  {
    group: 'authentication.k8s.io',
    versions: [{ version: 'v1', resources: [{ r: 'tokenreviews', k: 'TokenReview', verbs: ['create'], virtual: true }] }],
  },
  {
    group: 'authorization.k8s.io',
    versions: [
      {
        version: 'v1',
        resources: [
          { r: 'localsubjectaccessreviews', k: 'LocalSubjectAccessReview', ns: true, verbs: ['create'], virtual: true },
          { r: 'selfsubjectaccessreviews', k: 'SelfSubjectAccessReview', verbs: ['create'], virtual: true },
          { r: 'selfsubjectrulesreviews', k: 'SelfSubjectRulesReview', verbs: ['create'], virtual: true },
          { r: 'subjectaccessreviews', k: 'SubjectAccessReview', verbs: ['create'], virtual: true },
        ],
      },
    ],
  },
  {
    group: 'autoscaling',
    versions: [
      { version: 'v2', resources: [{ r: 'horizontalpodautoscalers', k: 'HorizontalPodAutoscaler', ns: true, short: ['hpa'], cat: ['all'], sub: [status('HorizontalPodAutoscaler')] }] },
      { version: 'v1', resources: [{ r: 'horizontalpodautoscalers', k: 'HorizontalPodAutoscaler', ns: true, short: ['hpa'], cat: ['all'], sub: [status('HorizontalPodAutoscaler')] }] },
    ],
  },
  {
    group: 'batch',
    versions: [
      {
        version: 'v1',
        resources: [
          { r: 'cronjobs', k: 'CronJob', ns: true, short: ['cj'], cat: ['all'], sub: [status('CronJob')], gen: true },
          { r: 'jobs', k: 'Job', ns: true, cat: ['all'], sub: [status('Job')], gen: true },
        ],
      },
    ],
  },
  {
    group: 'certificates.k8s.io',
    versions: [
      {
        version: 'v1',
        resources: [
          {
            r: 'certificatesigningrequests',
            k: 'CertificateSigningRequest',
            short: ['csr'],
            sub: [{ name: 'approval', kind: 'CertificateSigningRequest', verbs: STATUS_VERBS }, status('CertificateSigningRequest')],
          },
        ],
      },
    ],
  },
  {
    group: 'networking.k8s.io',
    versions: [
      {
        version: 'v1',
        resources: [
          { r: 'ingressclasses', k: 'IngressClass' },
          { r: 'ingresses', k: 'Ingress', ns: true, short: ['ing'], sub: [status('Ingress')], gen: true },
          { r: 'networkpolicies', k: 'NetworkPolicy', ns: true, short: ['netpol'], gen: true },
        ],
      },
    ],
  },
  {
    group: 'policy',
    versions: [{ version: 'v1', resources: [{ r: 'poddisruptionbudgets', k: 'PodDisruptionBudget', ns: true, short: ['pdb'], sub: [status('PodDisruptionBudget')], gen: true }] }],
  },
  {
    group: 'rbac.authorization.k8s.io',
    versions: [
      {
        version: 'v1',
        resources: [
          { r: 'clusterrolebindings', k: 'ClusterRoleBinding' },
          { r: 'clusterroles', k: 'ClusterRole' },
          { r: 'rolebindings', k: 'RoleBinding', ns: true },
          { r: 'roles', k: 'Role', ns: true },
        ],
      },
    ],
  },
  {
    group: 'storage.k8s.io',
    versions: [
      {
        version: 'v1',
        resources: [
          { r: 'csidrivers', k: 'CSIDriver' },
          { r: 'csinodes', k: 'CSINode' },
          { r: 'csistoragecapacities', k: 'CSIStorageCapacity', ns: true },
          { r: 'storageclasses', k: 'StorageClass', short: ['sc'] },
          { r: 'volumeattachments', k: 'VolumeAttachment', sub: [status('VolumeAttachment')] },
        ],
      },
      { version: 'v1beta1', resources: [{ r: 'csistoragecapacities', k: 'CSIStorageCapacity', ns: true }] },
    ],
  },
  {
    group: 'admissionregistration.k8s.io',
    versions: [
      {
        version: 'v1',
        resources: [
          { r: 'mutatingwebhookconfigurations', k: 'MutatingWebhookConfiguration', cat: ['api-extensions'], gen: true },
          { r: 'validatingwebhookconfigurations', k: 'ValidatingWebhookConfiguration', cat: ['api-extensions'], gen: true },
        ],
      },
    ],
  },
  {
    group: 'apiextensions.k8s.io',
    versions: [
      {
        version: 'v1',
        resources: [
          { r: 'customresourcedefinitions', k: 'CustomResourceDefinition', short: ['crd', 'crds'], cat: ['api-extensions'], sub: [status('CustomResourceDefinition')], gen: true },
        ],
      },
    ],
  },
  { group: 'scheduling.k8s.io', versions: [{ version: 'v1', resources: [{ r: 'priorityclasses', k: 'PriorityClass', short: ['pc'] }] }] },
  { group: 'coordination.k8s.io', versions: [{ version: 'v1', resources: [{ r: 'leases', k: 'Lease', ns: true }] }] },
  { group: 'node.k8s.io', versions: [{ version: 'v1', resources: [{ r: 'runtimeclasses', k: 'RuntimeClass' }] }] },
  { group: 'discovery.k8s.io', versions: [{ version: 'v1', resources: [{ r: 'endpointslices', k: 'EndpointSlice', ns: true }] }] },
  {
    group: 'flowcontrol.apiserver.k8s.io',
    versions: ['v1beta3', 'v1beta2'].map((version) => ({
      version,
      resources: [
        { r: 'flowschemas', k: 'FlowSchema', sub: [status('FlowSchema')], gen: true },
        { r: 'prioritylevelconfigurations', k: 'PriorityLevelConfiguration', sub: [status('PriorityLevelConfiguration')], gen: true },
      ],
    })),
  },
];

const VIRTUAL = new Set<string>();

function toDef(group: string, version: string, s: Spec): ResourceDef {
  const gv = group ? `${group}/${version}` : version;
  if (s.virtual) VIRTUAL.add(`${group}/${s.r}`);
  return {
    group,
    version,
    resource: s.r,
    singular: s.k.toLowerCase(),
    kind: s.k,
    listKind: `${s.k}List`,
    namespaced: s.ns ?? false,
    verbs: s.verbs ?? CRUD,
    shortNames: s.short,
    categories: s.cat,
    subresources: s.sub ?? [],
    schema: BUILTIN_SCHEMAS[`${gv}/${s.k}`],
    generation: s.gen ?? false,
    discoverySingular: '',
  };
}

/** Built-in resources, shared by every cluster (immutable). */
export const BUILTIN_RESOURCES: readonly ResourceDef[] = GROUPS.flatMap((g) =>
  g.versions.flatMap((v) => v.resources.map((s) => toDef(g.group, v.version, s))),
);

export const BUILTIN_GROUP_ORDER: ReadonlyArray<{ group: string; versions: string[] }> = GROUPS.map((g) => ({
  group: g.group,
  versions: g.versions.map((v) => v.version),
}));

export function isVirtualResource(def: ResourceDef): boolean {
  return VIRTUAL.has(`${def.group}/${def.resource}`);
}

export function groupVersion(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

export function apiResourceEntry(def: ResourceDef): JsonObject[] {
  const out: JsonObject[] = [];
  const main: JsonObject = {
    name: def.resource,
    singularName: def.discoverySingular,
    namespaced: def.namespaced,
    kind: def.kind,
    verbs: def.verbs,
  };
  if (def.shortNames?.length) main.shortNames = def.shortNames;
  if (def.categories?.length) main.categories = def.categories;
  if (!isVirtualResource(def)) main.storageVersionHash = storageVersionHash(def.group, def.version, def.kind);
  out.push(main);
  for (const sub of def.subresources) {
    const e: JsonObject = { name: `${def.resource}/${sub.name}`, singularName: '', namespaced: def.namespaced };
    if (sub.group !== undefined) {
      e.group = sub.group;
      e.version = sub.version ?? 'v1';
    }
    e.kind = sub.kind;
    e.verbs = sub.verbs;
    out.push(e);
  }
  return out;
}

/** APIResourceList for a group version. The core list has no apiVersion, as recorded. */
export function apiResourceList(group: string, version: string, defs: readonly ResourceDef[]): JsonObject {
  const list: JsonObject = { kind: 'APIResourceList' };
  if (group) list.apiVersion = 'v1';
  list.groupVersion = groupVersion(group, version);
  const sorted = [...defs].sort((a, b) => (a.custom && b.custom ? 0 : a.resource.localeCompare(b.resource)));
  list.resources = sorted.flatMap(apiResourceEntry);
  return list;
}

export function apiGroupEntry(group: string, versions: string[]): JsonObject {
  return {
    name: group,
    versions: versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${group}/${versions[0]}`, version: versions[0] },
  };
}
