import { CLUSTER_API_GROUP } from '@flotilla/domain';
import type { ResourceKind } from '../resources/resource-kind';
import { resourceList } from '../resources/resource-routes';

/** One entry of an APIResourceList (`clusters`, or a subresource `clusters/kubeconfig`). */
export interface ApiResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
}

/** The resources Flotilla serves in one group version ('' is the core group, /api/<version>). */
export interface GroupVersionResources {
  group: string;
  version: string;
  resources: ApiResource[];
}

const ALL_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

/**
 * The group versions served outside the generic resource layer (their routes live elsewhere in the
 * gateway); discovery mounts their APIResourceLists itself.
 */
export const FIXED_GROUP_VERSIONS: readonly GroupVersionResources[] = [
  {
    group: CLUSTER_API_GROUP,
    version: 'v1alpha1',
    resources: [
      { name: 'clusters', singularName: 'cluster', namespaced: false, kind: 'Cluster', verbs: ALL_VERBS },
      { name: 'clusters/kubeconfig', singularName: '', namespaced: false, kind: 'Cluster', verbs: ['create', 'get', 'update'] },
      { name: 'clusters/proxy', singularName: '', namespaced: false, kind: 'Cluster', verbs: ['create', 'delete', 'get', 'patch', 'update'] },
      { name: 'clusters/orphans', singularName: '', namespaced: false, kind: 'OrphanList', verbs: ['get'] },
    ],
  },
  {
    group: 'authorization.k8s.io',
    version: 'v1',
    resources: [{ name: 'selfsubjectaccessreviews', singularName: 'selfsubjectaccessreview', namespaced: false, kind: 'SelfSubjectAccessReview', verbs: ['create'] }],
  },
  {
    // Flotilla's cluster and federation events, as kube's events.k8s.io/v1 Events (kubectl describe finds them).
    group: 'events.k8s.io',
    version: 'v1',
    resources: [{ name: 'events', singularName: 'event', namespaced: true, kind: 'Event', verbs: ['get', 'list', 'watch'], shortNames: ['ev'] }],
  },
  {
    group: 'audit.flotilla.io',
    version: 'v1alpha1',
    resources: [{ name: 'events', singularName: 'event', namespaced: false, kind: 'Event', verbs: ['list'] }],
  },
];

const CORE_EVENTS: GroupVersionResources['resources'] = [{ name: 'events', singularName: 'event', namespaced: true, kind: 'Event', verbs: ['get', 'list', 'watch'], shortNames: ['ev'] }];

/**
 * Every group version Flotilla serves, the core group's first: the generic layer's kinds (IAM,
 * federation, host namespaces) as their own resource lists answer them, then the fixed ones.
 * Legacy discovery, aggregated discovery and the OpenAPI documents are all derived from this list,
 * so they never disagree.
 */
export function apiCatalog(kinds: readonly ResourceKind[]): GroupVersionResources[] {
  const byGroupVersion = new Map<string, GroupVersionResources>();
  for (const k of kinds) {
    const key = `${k.group}/${k.version}`;
    if (byGroupVersion.has(key)) continue;
    const list = resourceList(kinds.filter((x) => x.group === k.group && x.version === k.version));
    byGroupVersion.set(key, { group: k.group, version: k.version, resources: list.resources });
  }
  // The same events in the core group (/api/v1/events: what kubectl describe searches).
  const core = byGroupVersion.get('/v1');
  if (core) core.resources = [...core.resources, ...CORE_EVENTS].sort((a, b) => a.name.localeCompare(b.name));
  else byGroupVersion.set('/v1', { group: '', version: 'v1', resources: [...CORE_EVENTS] });
  const generic = [...byGroupVersion.values()];
  return [...generic.filter((g) => g.group === ''), ...FIXED_GROUP_VERSIONS, ...generic.filter((g) => g.group !== '')];
}

/** `<group>/<version>`, or `<version>` for the core group. */
export const groupVersionOf = (g: Pick<GroupVersionResources, 'group' | 'version'>) => (g.group ? `${g.group}/${g.version}` : g.version);
