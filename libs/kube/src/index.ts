export { checkServerAddress, kubeconfigError, parseKubeconfig } from './kubeconfig/kubeconfig';
export type { KubeAuth, KubeconfigPolicy, ResolvedKubeconfig } from './kubeconfig/kubeconfig';
export { ClusterProber } from './probe/prober';
export type { ProberOptions } from './probe/prober';
export { MemberClient, MemberUnavailableError, clientCertificateExpiry } from './member/member-client';
export type { MemberFailure, MemberResponse, TlsProbe } from './member/member-client';
export {
  IMPORT_CHECKS,
  KUBECONFIG_FIELD,
  MARKER_NAME,
  MARKER_NAMESPACE,
  REQUIRED_PERMISSIONS,
  SERVICE_ACCOUNT_PERMISSIONS,
  describePermission,
  kubeconfigCertCondition,
  parseForImport,
  runImportChecks,
} from './import/import-checks';
export type { ImportCheck, ImportCheckOptions, ImportLookups, MemberFacts, NodeFacts, Permission, StepReporter } from './import/import-checks';
export {
  CLUSTER_ROLE_BINDING_NAME,
  SERVICE_ACCOUNT_NAME,
  TOKEN_SECRET_NAME,
  createServiceAccountKubeconfig,
  removeFromMember,
  writeMarker,
} from './import/member-setup';
export type { MarkerData, Orphan } from './import/member-setup';
