import type { ObjectMeta } from '../cluster/cluster';

/**
 * Flotilla's identities and roles (issue 14). Users and fleet-wide roles take KubeSphere's shapes
 * (iam.kubesphere.io/v1beta1); tokens and member access bindings are Flotilla's own
 * (iam.flotilla.io/v1alpha1). Stored in the registry's object store, mirrored in memory by every
 * gateway replica, which decides from the mirror alone.
 */
export const KUBESPHERE_IAM_GROUP = 'iam.kubesphere.io';
export const KUBESPHERE_IAM_VERSION = 'v1beta1';
export const FLOTILLA_IAM_GROUP = 'iam.flotilla.io';
export const FLOTILLA_IAM_VERSION = 'v1alpha1';

/** The object-store key of each kind: `<plural>.<group>` (cluster-scoped, no namespace). */
export const IamResource = {
  users: 'users.iam.kubesphere.io',
  globalRoles: 'globalroles.iam.kubesphere.io',
  globalRoleBindings: 'globalrolebindings.iam.kubesphere.io',
  tokens: 'tokens.iam.flotilla.io',
  clusterAccessBindings: 'clusteraccessbindings.iam.flotilla.io',
} as const;
export type IamResource = (typeof IamResource)[keyof typeof IamResource];

export interface User {
  apiVersion: 'iam.kubesphere.io/v1beta1';
  kind: 'User';
  metadata: ObjectMeta;
  spec: { email?: string; displayName?: string; description?: string; groups?: string[] };
  status?: { state?: 'Active' | 'Disabled'; lastLoginTime?: string };
}

/** A named bearer token. The secret is shown once at creation and stored only as its hash. */
export interface Token {
  apiVersion: 'iam.flotilla.io/v1alpha1';
  kind: 'Token';
  metadata: ObjectMeta;
  spec: { user: string; description?: string; expirationTimestamp?: string; /** set when minted for a kubeconfig */ purpose?: string };
  status?: {
    /** Only in the answer to the POST that created it: `flt_<id>_<secret>`. Never stored. */
    secret?: string;
    lastUsedTime?: string;
  };
}

/** Stored alongside a Token (never returned): sha256 of the secret, hex. */
export const TOKEN_HASH_ANNOTATION = 'iam.flotilla.io/secret-sha256';

export type SubjectKind = 'User' | 'Group' | 'Token';
export interface Subject {
  kind: SubjectKind;
  name: string;
}

export const FleetRole = { admin: 'fleet-admin', viewer: 'fleet-viewer' } as const;
export type FleetRole = (typeof FleetRole)[keyof typeof FleetRole];

export interface GlobalRoleBinding {
  apiVersion: 'iam.kubesphere.io/v1beta1';
  kind: 'GlobalRoleBinding';
  metadata: ObjectMeta;
  subjects: Subject[];
  roleRef: { apiGroup: 'iam.kubesphere.io'; kind: 'GlobalRole'; name: string };
}

export const MemberRole = { admin: 'cluster-admin', editor: 'cluster-editor', viewer: 'cluster-viewer' } as const;
export type MemberRole = (typeof MemberRole)[keyof typeof MemberRole];
/** Strongest first. */
export const MEMBER_ROLES: readonly MemberRole[] = [MemberRole.admin, MemberRole.editor, MemberRole.viewer];

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface ClusterAccessBinding {
  apiVersion: 'iam.flotilla.io/v1alpha1';
  kind: 'ClusterAccessBinding';
  metadata: ObjectMeta;
  subjects: Subject[];
  role: MemberRole;
  clusters?: string[];
  clusterSelector?: LabelSelector;
}

/** Who is calling, once authenticated. */
export interface Principal {
  /** Flotilla user name: a User's name, `oidc:<claim>` for OIDC callers, `admin` for the bootstrap token. */
  user: string;
  /** Group names (OIDC groups are prefixed `oidc:` too). */
  groups: string[];
  /** The Token's name when a Flotilla token was presented. */
  tokenId?: string;
  via: 'admin-token' | 'token' | 'oidc';
}

/** Impersonation names Flotilla sends to members (never a caller's own group, never `system:`). */
export const impersonatedUser = (user: string) => `flotilla:user:${user}`;
export const impersonatedRoleGroup = (role: MemberRole) => `flotilla:role:${role}`;
