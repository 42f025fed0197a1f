import { ErrorReason, FlotillaError } from '@flotilla/domain';

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
 * The only user and group names Flotilla's identity may impersonate (the API proxy maps each
 * Flotilla user onto one of them). RBAC resourceNames are exact names, never patterns, so these
 * are fixed: `system:masters` or any other name is refused by the member itself.
 */
export const IMPERSONATION_USERS: readonly string[] = ['flotilla:user', 'flotilla:admin'];
export const IMPERSONATION_GROUPS: readonly string[] = ['flotilla:users', 'flotilla:admins'];

/** Non-resource URLs health reads. */
export const HEALTH_URLS: readonly string[] = ['/healthz', '/livez', '/readyz', '/version'];

const RBAC = 'rbac.authorization.k8s.io';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'flotilla' };

/** The cluster-wide rules, each with why Flotilla needs it (docs/security-member-role.md). */
export function memberClusterRoleRules(): Record<string, unknown>[] {
  return [
    // Import checks and health: the member's identity (kube-system UID) and Flotilla's namespace.
    { apiGroups: [''], resources: ['namespaces'], resourceNames: ['kube-system', MARKER_NAMESPACE], verbs: ['get'] },
    // Removal: Flotilla's own namespace, and nothing else.
    { apiGroups: [''], resources: ['namespaces'], resourceNames: [MARKER_NAMESPACE], verbs: ['delete'] },
    // Import (provider detection, zones) and health (node count): node metadata, listed.
    { apiGroups: [''], resources: ['nodes'], verbs: ['list'] },
    // Health.
    { nonResourceURLs: [...HEALTH_URLS], verbs: ['get'] },
    // The API proxy: only Flotilla's own user and group names.
    { apiGroups: [''], resources: ['users'], resourceNames: [...IMPERSONATION_USERS], verbs: ['impersonate'] },
    { apiGroups: [''], resources: ['groups'], resourceNames: [...IMPERSONATION_GROUPS], verbs: ['impersonate'] },
    // Removal: its own binding and role (and the cluster-admin binding when one was chosen).
    { apiGroups: [RBAC], resources: ['clusterrolebindings'], resourceNames: [MEMBER_ROLE_NAME, CLUSTER_ADMIN_BINDING_NAME], verbs: ['delete'] },
    { apiGroups: [RBAC], resources: ['clusterroles'], resourceNames: [MEMBER_ROLE_NAME], verbs: ['delete'] },
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

export function memberClusterRole(): Record<string, unknown> {
  return { apiVersion: `${RBAC}/v1`, kind: 'ClusterRole', metadata: { name: MEMBER_ROLE_NAME, labels: MANAGED_BY }, rules: memberClusterRoleRules() };
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
