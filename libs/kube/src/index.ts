export { checkServerAddress, kubeconfigError, parseKubeconfig } from './kubeconfig/kubeconfig';
export type { KubeAuth, KubeconfigPolicy, ResolvedKubeconfig } from './kubeconfig/kubeconfig';
export { ClusterProber } from './probe/prober';
export type { ProberOptions } from './probe/prober';
export { MemberClient, MemberUnavailableError, clientCertificateExpiry } from './member/member-client';
export type { MemberClientOptions, MemberFailure, MemberResponse, TlsProbe } from './member/member-client';
export { memberClient, memberProber, resolveMember } from './member/member-target';
export type { MemberTargetOptions, StoredCredentials } from './member/member-target';
export { MemberAddressPolicy, REFUSED_ADDRESS_CODE, defaultMemberPolicy, memberPolicyFromConfig } from './net/address-policy';
export type { AddressCategory, AddressRefusal, MemberAddressPolicyOptions, MemberResolver } from './net/address-policy';
export { DEFAULT_MAX_MEMBER_BODY_BYTES } from './net/bounded-body';
export { HandshakeGate } from './net/handshake-gate';
export { cleanText, memberSaid, redactUrl } from './net/member-text';
export {
  IMPORT_CHECKS,
  KUBECONFIG_FIELD,
  MARKER_NAME,
  MARKER_NAMESPACE,
  REQUIRED_PERMISSIONS,
  SERVICE_ACCOUNT_PERMISSIONS,
  describePermission,
  excessRightsWarning,
  importPolicy,
  kubeconfigCertCondition,
  parseForImport,
  runImportChecks,
} from './import/import-checks';
export type { ImportCheck, ImportCheckOptions, ImportLookups, MemberFacts, NodeFacts, Permission, StepReporter } from './import/import-checks';
export {
  CLUSTER_ROLE_BINDING_NAME,
  POSSIBLE_OBJECTS,
  TOKEN_SECRET_NAME,
  createServiceAccountKubeconfig,
  describeObject,
  moveToMemberRole,
  objectPath,
  removeFromMember,
  writeMarker,
} from './import/member-setup';
export type { MarkerData, MemberObject, Orphan, OwnerReference, ServiceAccountOptions, ServiceAccountSetup } from './import/member-setup';
export {
  CLUSTER_ADMIN_BINDING_NAME,
  HEALTH_URLS,
  IMPERSONATION_GROUPS,
  IMPERSONATION_USERS,
  LEGACY_TOKEN_SECRET_NAME,
  MEMBER_ROLE_ANNOTATION,
  MEMBER_ROLE_CHOICES,
  MEMBER_ROLE_NAME,
  SERVICE_ACCOUNT_NAME,
  describeMemberRole,
  memberClusterRoleRules,
  memberNamespaceRoleRules,
  memberRoleChoice,
} from './import/member-role';
export type { MemberRoleChoice } from './import/member-role';
export {
  DEFAULT_TOKEN_TTL_SECONDS,
  MIN_TOKEN_TTL_SECONDS,
  RENEW_AT_FRACTION,
  TokenRequestError,
  renewalDueAt,
  requestServiceAccountToken,
  serviceAccountKubeconfig,
  tokenLifetime,
} from './import/service-account-token';
export type { MintedToken } from './import/service-account-token';
export {
  MemberUidUnreadableError,
  assertSameMember,
  expectSameMember,
  importCheckOptions,
  memberPolicyOf,
  needsPolicyDecision,
  offlineKubeconfigCheck,
  readMemberUid,
  type ImportPolicyConfig,
} from './import/import-policy';
export {
  DEFAULT_MEMBER_ACCESS,
  DEFAULT_ROLE_MAP,
  IMPERSONATION_ROLE_NAME,
  ROLE_BINDING_NAMES,
  boundRoleNames,
  memberClusterRole,
  roleBindingName,
} from './import/member-role';
export type { MemberAccessChoice, RoleMap } from './import/member-role';
export {
  IMPERSONATION_ANNOTATION,
  MemberAccessConflictError,
  MemberAccessRefusedError,
  NO_USER_PLACEHOLDER,
  ROLE_MAP_ANNOTATION,
  impersonationEnabled,
  impersonationRules,
  memberAccessChoice,
  roleMapOf,
  syncMemberAccess,
} from './import/member-access';
export type { DesiredMemberAccess, MemberAccessResult } from './import/member-access';
export { MemberTransport, memberError } from './member/member-transport';
export type { MemberTransportOptions, MemberUpgrade } from './member/member-transport';
export { MemberApplier } from './federation/member-applier';
export {
  MemberCallError,
} from './federation/types';
export type { ApplyFailureReason, ApplyOutcome, ManagedEvent, ManagedWatchHandle, MemberApplierOptions, MemberObjectRef } from './federation/types';
export { GateRefusedError, RequestGate } from './federation/request-gate';
export type { RequestGateOptions } from './federation/request-gate';
