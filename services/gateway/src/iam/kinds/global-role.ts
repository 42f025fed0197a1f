import { FleetRole, IamResource, KUBESPHERE_IAM_GROUP, KUBESPHERE_IAM_VERSION } from '@flotilla/domain';
import type { ResourceKind } from '../../resources/resource-kind';
import { Causes, Json } from '../../resources/validation';

const API_VERSION = `${KUBESPHERE_IAM_GROUP}/${KUBESPHERE_IAM_VERSION}`;

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  nonResourceURLs?: string[];
}

/** Flotilla's own API groups a fleet-viewer may read. */
const FLOTILLA_GROUPS = ['cluster.kubesphere.io', 'iam.kubesphere.io', 'iam.flotilla.io', 'audit.flotilla.io'];

/**
 * The built-in fleet roles, in KubeSphere's GlobalRole shape (rules as in Kubernetes RBAC). They
 * document what the gateway's Authorizer enforces: fleet-admin may do everything; fleet-viewer may
 * read Flotilla's resources but no credential (kubeconfigs, tokens), nothing under admin/, and has
 * no member access (member access comes from ClusterAccessBindings only).
 */
export const FLEET_ROLE_RULES: Readonly<Record<FleetRole, readonly PolicyRule[]>> = {
  [FleetRole.admin]: [
    { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
    { nonResourceURLs: ['*'], verbs: ['*'] },
  ],
  [FleetRole.viewer]: [
    {
      apiGroups: FLOTILLA_GROUPS,
      resources: ['clusters', 'clusters/status', 'clusters/events', 'clusters/jobs', 'users', 'globalroles', 'globalrolebindings', 'clusteraccessbindings', 'events'],
      verbs: ['get', 'list', 'watch'],
    },
    { nonResourceURLs: ['/openapi.json', '/docs', '/version', '/apis', '/apis/*'], verbs: ['get'] },
  ],
};

const DESCRIPTIONS: Record<FleetRole, string> = {
  [FleetRole.admin]: 'Everything in Flotilla, and cluster-admin in every member cluster.',
  [FleetRole.viewer]: "Read Flotilla's resources (clusters, users, roles, bindings, audit events); no credentials, no administration, no member access.",
};

export const BUILT_IN_GLOBAL_ROLES: readonly Json[] = (Object.values(FleetRole) as FleetRole[]).map((name) => ({
  apiVersion: API_VERSION,
  kind: 'GlobalRole',
  metadata: {
    name,
    resourceVersion: '0',
    labels: { 'iam.flotilla.io/built-in': 'true' },
    annotations: { 'kubesphere.io/description': DESCRIPTIONS[name], 'kubesphere.io/creator': 'flotilla' },
  },
  rules: FLEET_ROLE_RULES[name].map((r) => ({ ...r })),
}));

/** GlobalRoles are served from code, read-only: the validation refuses every write (the layer answers 405 first). */
function refuse(_obj: unknown): Json {
  const causes = new Causes();
  causes.forbidden('metadata.name', `GlobalRoles are built in (${Object.values(FleetRole).join(', ')}) and cannot be written`);
  causes.throwIfAny('GlobalRole', undefined);
  return {};
}

export const globalRoleKind: ResourceKind = {
  group: KUBESPHERE_IAM_GROUP,
  version: KUBESPHERE_IAM_VERSION,
  kind: 'GlobalRole',
  listKind: 'GlobalRoleList',
  plural: 'globalroles',
  singular: 'globalrole',
  shortNames: [],
  namespaced: false,
  storeKey: IamResource.globalRoles,
  readOnly: true,
  builtIns: BUILT_IN_GLOBAL_ROLES,
  validate: refuse,
  toApi: (obj) => obj,
};
