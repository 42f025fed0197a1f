import type { Express, Request, Response } from 'express';
import { CLUSTER_API_GROUP } from '@flotilla/domain';
import type { ResourceKind } from '../resources/resource-kind';
import { resourceList } from '../resources/resource-routes';

/**
 * Discovery of Flotilla's own API, as kube-apiserver answers it (`/api`, `/apis`, `/apis/<group>`,
 * `/apis/<group>/<version>`), so a real kubectl (`kubectl --context flotilla get clusters`,
 * `auth can-i`, `api-resources`, `get federateddeployments -n x`) can find Flotilla's resources.
 * The group-versions of the generic layer's kinds (IAM, federation, the core group's namespaces)
 * come from their kind descriptors (their resource lists are served by ResourceRoutes); the others
 * are listed here.
 * Aggregated discovery, OpenAPI v2/v3 and server-side Tables are issue 16.
 */
interface GroupVersionResources {
  group: string;
  version: string;
  resources: Record<string, unknown>[];
}

const ALL_VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

const FIXED: GroupVersionResources[] = [
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
    group: 'audit.flotilla.io',
    version: 'v1alpha1',
    resources: [{ name: 'events', singularName: 'event', namespaced: false, kind: 'Event', verbs: ['list'] }],
  },
];

function groupVersions(kinds: readonly ResourceKind[]): GroupVersionResources[] {
  const byGroup = new Map<string, GroupVersionResources>();
  for (const k of kinds) {
    // The core group is /api/<version>, not a member of /apis.
    if (k.group === '') continue;
    const key = `${k.group}/${k.version}`;
    if (!byGroup.has(key)) byGroup.set(key, { group: k.group, version: k.version, resources: resourceList(kinds.filter((x) => x.group === k.group && x.version === k.version)).resources });
  }
  return [...FIXED, ...byGroup.values()];
}

const apiGroup = (g: GroupVersionResources) => {
  const version = { groupVersion: `${g.group}/${g.version}`, version: g.version };
  return { name: g.group, versions: [version], preferredVersion: version };
};

const send = (res: Response, body: unknown) => res.type('application/json').send(JSON.stringify(body));

/** Mounts the discovery routes (GET only; authorised as non-resource paths every authenticated caller may read). */
export function installDiscovery(http: Pick<Express, 'get'>, kinds: readonly ResourceKind[]): void {
  const all = groupVersions(kinds);
  // The core group: the versions of core kinds served (host namespaces: v1); none, and kubectl skips /api/v1.
  const coreVersions = [...new Set(kinds.filter((k) => k.group === '').map((k) => k.version))];
  http.get('/api', (_req: Request, res: Response) => send(res, { kind: 'APIVersions', versions: coreVersions, serverAddressByClientCIDRs: [] }));
  http.get('/apis', (_req: Request, res: Response) => send(res, { kind: 'APIGroupList', apiVersion: 'v1', groups: all.map(apiGroup) }));
  for (const g of all) {
    http.get(`/apis/${g.group}`, (_req: Request, res: Response) => send(res, { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(g) }));
  }
  for (const g of FIXED) {
    http.get(`/apis/${g.group}/${g.version}`, (_req: Request, res: Response) => send(res, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${g.group}/${g.version}`, resources: g.resources }));
  }
}
