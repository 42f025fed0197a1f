import { ErrorReason, FlotillaError, MEMBER_ROLES, type MemberRole, impersonatedRoleGroup } from '@flotilla/domain';

/**
 * Flotilla's own identity in a member on the service-account path (ADR 0029, docs/security.md
 * "The member role"): ServiceAccount flotilla-system/flotilla-host, bound to the ClusterRole and
 * the flotilla-system Role below, which hold only what Flotilla uses. cluster-admin is bound in
 * addition only when the cluster carries MEMBER_ROLE_ANNOTATION=cluster-admin.
 */
/** The marker Flotilla leaves in every member it imports (ADR 0010). */
export const MARKER_NAMESPACE = 'flotilla-system';
export const MARKER_NAME = 'flotilla-host';
export const SERVICE_ACCOUNT_NAME = 'flotilla-host';
/** The ClusterRole, its ClusterRoleBinding, the Role in flotilla-system and its RoleBinding share this name. */
export const MEMBER_ROLE_NAME = 'flotilla:host';
/** The ClusterRoleBinding to cluster-admin: held only by explicit choice (and by imports made before ADR 0029). */
export const CLUSTER_ADMIN_BINDING_NAME = 'flotilla-host';
/** The legacy token Secret of imports made before ADR 0029 (a token that never expires); removed on migration. */
export const LEGACY_TOKEN_SECRET_NAME = 'flotilla-host-token';

/** The annotation that chooses the rights of Flotilla's identity in the member, at import. */
export const MEMBER_ROLE_ANNOTATION = 'import.flotilla.io/member-role';
export type MemberRoleChoice = 'minimal' | 'cluster-admin';
export const MEMBER_ROLE_CHOICES: readonly MemberRoleChoice[] = ['minimal', 'cluster-admin'];

/**
 * The fixed impersonation names of ADR 0029's member role, before ADR 0030. No longer granted:
 * ClusterRole flotilla:impersonation (kept in sync by provider-import) allows exactly the users
 * bound to the cluster and the role groups. Kept for callers of the names; a member imported
 * before still holds them until its member role is refreshed (rotation or re-import).
 * @deprecated
 */
export const IMPERSONATION_USERS: readonly string[] = ['flotilla:user', 'flotilla:admin'];
/** @deprecated see IMPERSONATION_USERS */
export const IMPERSONATION_GROUPS: readonly string[] = ['flotilla:users', 'flotilla:admins'];

/** ClusterRole (and its ClusterRoleBinding to Flotilla's identity) allowing the impersonation the API proxy does (ADR 0030). */
export const IMPERSONATION_ROLE_NAME = 'flotilla:impersonation';
/** Flotilla role -> the member ClusterRole its group is bound to. */
export type RoleMap = Record<MemberRole, string>;
export const DEFAULT_ROLE_MAP: Readonly<RoleMap> = { 'cluster-admin': 'admin', 'cluster-editor': 'edit', 'cluster-viewer': 'view' };
/** The ClusterRoleBinding of each Flotilla role group is named like the group: `flotilla:role:<role>`. */
export const roleBindingName = (role: MemberRole): string => impersonatedRoleGroup(role);
export const ROLE_BINDING_NAMES: readonly string[] = MEMBER_ROLES.map(roleBindingName);
/** The member ClusterRoles a role map binds: what Flotilla's member role may `bind`, by name. */
export const boundRoleNames = (map: Readonly<RoleMap> = DEFAULT_ROLE_MAP): string[] => [...new Set(MEMBER_ROLES.map((r) => map[r]))].sort();

/**
 * The cluster's choices that shape the member role (read from its annotations by
 * memberAccessChoice, member-access.ts): whether the proxy impersonates there (then Flotilla holds
 * the rights to keep impersonation in sync), and the member ClusterRoles its role groups bind.
 */
export interface MemberAccessChoice {
  impersonation: boolean;
  roleMap: Readonly<RoleMap>;
}
export const DEFAULT_MEMBER_ACCESS: Readonly<MemberAccessChoice> = { impersonation: true, roleMap: DEFAULT_ROLE_MAP };

/** Non-resource URLs health reads. */
export const HEALTH_URLS: readonly string[] = ['/healthz', '/livez', '/readyz', '/version'];

const RBAC = 'rbac.authorization.k8s.io';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'flotilla' };

/**
 * The cluster-wide rules, each with why Flotilla needs it (docs/security.md, "The member role").
 * With impersonation on (the default), also what keeping it in sync needs, binding the role groups
 * to the ClusterRoles `access.roleMap` names (ADR 0030).
 */
export function memberClusterRoleRules(access: Readonly<MemberAccessChoice> = DEFAULT_MEMBER_ACCESS): Record<string, unknown>[] {
  return [
    // Import checks and health: the member's identity (kube-system UID) and Flotilla's namespace.
    { apiGroups: [''], resources: ['namespaces'], resourceNames: ['kube-system', MARKER_NAMESPACE], verbs: ['get'] },
    // Removal: Flotilla's own namespace, and nothing else.
    { apiGroups: [''], resources: ['namespaces'], resourceNames: [MARKER_NAMESPACE], verbs: ['delete'] },
    // Import (provider detection, zones) and health (node count): node metadata, listed.
    { apiGroups: [''], resources: ['nodes'], verbs: ['list'] },
    // Health.
    { nonResourceURLs: [...HEALTH_URLS], verbs: ['get'] },
    // Removal: its own binding and role (and the cluster-admin binding when one was chosen).
    { apiGroups: [RBAC], resources: ['clusterrolebindings'], resourceNames: [MEMBER_ROLE_NAME, CLUSTER_ADMIN_BINDING_NAME], verbs: ['delete'] },
    { apiGroups: [RBAC], resources: ['clusterroles'], resourceNames: [MEMBER_ROLE_NAME], verbs: ['delete'] },
    ...(access.impersonation ? impersonationSyncRules(access.roleMap) : []),
  ];
}

/**
 * What keeping the API proxy's impersonation in sync needs (ADR 0030), and nothing more. The cost,
 * plainly: `escalate` on flotilla:impersonation, a role bound to Flotilla's own identity, lets
 * whoever holds Flotilla's member credential write any rule into that role, and so take any right
 * in the member; `bind` on the mapped roles lets it grant them to anyone. An operator who will not
 * pay it sets proxy.flotilla.io/impersonation=off on the cluster before import (or rotation): the
 * member role is then written without these rules, the sync skips the cluster and the proxy does
 * not impersonate there.
 */
function impersonationSyncRules(roleMap: Readonly<RoleMap>): Record<string, unknown>[] {
  return [
    // Read its own role's uid: everything the sync creates is owned by it, so removal's one delete
    // of flotilla:host takes it away too.
    { apiGroups: [RBAC], resources: ['clusterroles'], resourceNames: [MEMBER_ROLE_NAME], verbs: ['get'] },
    { apiGroups: [RBAC], resources: ['clusterroles'], resourceNames: [IMPERSONATION_ROLE_NAME], verbs: ['get', 'update', 'patch'] },
    // kube-apiserver refuses a Role write that grants rights the writer does not hold, unless the
    // writer may `escalate` that role: adding a newly bound user to the impersonation rule is exactly
    // such a write (Flotilla cannot yet impersonate that user). Limited to this one role by name.
    { apiGroups: [RBAC], resources: ['clusterroles'], resourceNames: [IMPERSONATION_ROLE_NAME], verbs: ['escalate'] },
    // delete: a binding's roleRef cannot change, so a new role map replaces the binding.
    { apiGroups: [RBAC], resources: ['clusterrolebindings'], resourceNames: [IMPERSONATION_ROLE_NAME, ...ROLE_BINDING_NAMES], verbs: ['get', 'update', 'patch', 'delete'] },
    // RBAC cannot limit create by name (the name is in the body). A created ClusterRole can hold
    // only rules Flotilla already holds (no escalate without a name), so the sync creates
    // flotilla:impersonation empty and fills it by an update.
    { apiGroups: [RBAC], resources: ['clusterroles', 'clusterrolebindings'], verbs: ['create'] },
    // Binding a role needs `bind` on it (or holding all its rules): the role groups' targets only.
    { apiGroups: [RBAC], resources: ['clusterroles'], resourceNames: boundRoleNames(roleMap), verbs: ['bind'] },
  ];
}

/** The rules in flotilla-system: the marker, tokens for its own ServiceAccount, removal of its own objects. */
export function memberNamespaceRoleRules(): Record<string, unknown>[] {
  return [
    { apiGroups: [''], resources: ['configmaps'], resourceNames: [MARKER_NAME], verbs: ['get', 'update', 'delete'] },
    // create cannot be limited by name in RBAC; the namespace is Flotilla's own.
    { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
    { apiGroups: [''], resources: ['serviceaccounts/token'], resourceNames: [SERVICE_ACCOUNT_NAME], verbs: ['create'] },
    { apiGroups: [''], resources: ['serviceaccounts'], resourceNames: [SERVICE_ACCOUNT_NAME], verbs: ['delete'] },
    { apiGroups: [RBAC], resources: ['roles', 'rolebindings'], resourceNames: [MEMBER_ROLE_NAME], verbs: ['delete'] },
  ];
}

export function memberClusterRole(access: Readonly<MemberAccessChoice> = DEFAULT_MEMBER_ACCESS): Record<string, unknown> {
  return { apiVersion: `${RBAC}/v1`, kind: 'ClusterRole', metadata: { name: MEMBER_ROLE_NAME, labels: MANAGED_BY }, rules: memberClusterRoleRules(access) };
}

export function memberNamespaceRole(): Record<string, unknown> {
  return { apiVersion: `${RBAC}/v1`, kind: 'Role', metadata: { name: MEMBER_ROLE_NAME, namespace: MARKER_NAMESPACE, labels: MANAGED_BY }, rules: memberNamespaceRoleRules() };
}

const subject = { kind: 'ServiceAccount', name: SERVICE_ACCOUNT_NAME, namespace: MARKER_NAMESPACE };

export function clusterRoleBinding(name: string, roleName: string): Record<string, unknown> {
  return { apiVersion: `${RBAC}/v1`, kind: 'ClusterRoleBinding', metadata: { name, labels: MANAGED_BY }, roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: roleName }, subjects: [subject] };
}

export function memberRoleBinding(): Record<string, unknown> {
  return {
    apiVersion: `${RBAC}/v1`,
    kind: 'RoleBinding',
    metadata: { name: MEMBER_ROLE_NAME, namespace: MARKER_NAMESPACE, labels: MANAGED_BY },
    roleRef: { apiGroup: RBAC, kind: 'Role', name: MEMBER_ROLE_NAME },
    subjects: [subject],
  };
}

/**
 * The member role a cluster's annotations choose: minimal unless MEMBER_ROLE_ANNOTATION says
 * cluster-admin. Throws Invalid naming the annotation and its values for anything else.
 */
export function memberRoleChoice(annotations: Record<string, string> | undefined): MemberRoleChoice {
  const raw = (annotations ?? {})[MEMBER_ROLE_ANNOTATION];
  if (raw === undefined || raw === '') return 'minimal';
  if ((MEMBER_ROLE_CHOICES as readonly string[]).includes(raw)) return raw as MemberRoleChoice;
  const field = `metadata.annotations[${MEMBER_ROLE_ANNOTATION}]`;
  throw new FlotillaError(ErrorReason.Invalid, `${field}: "${raw.slice(0, 64)}" is not a member role: use "minimal" (the default) or "cluster-admin" (docs/security.md, "The member role")`, {
    causes: [{ reason: 'FieldValueNotSupported', field, message: `supported values: ${MEMBER_ROLE_CHOICES.map((c) => `"${c}"`).join(', ')}` }],
  });
}

/** What the status says about the rights Flotilla holds in the member. */
export function describeMemberRole(choice: MemberRoleChoice): string {
  return choice === 'cluster-admin'
    ? `ServiceAccount ${MARKER_NAMESPACE}/${SERVICE_ACCOUNT_NAME} holds ClusterRole ${MEMBER_ROLE_NAME} and cluster-admin (chosen by annotation ${MEMBER_ROLE_ANNOTATION}=cluster-admin)`
    : `ServiceAccount ${MARKER_NAMESPACE}/${SERVICE_ACCOUNT_NAME} holds only ClusterRole ${MEMBER_ROLE_NAME} and Role ${MARKER_NAMESPACE}/${MEMBER_ROLE_NAME} (docs/security.md, "The member role")`;
}
