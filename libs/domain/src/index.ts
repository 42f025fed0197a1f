export { ErrorReason, FlotillaError, httpCodeForReason } from './errors/flotilla-error';
export type { ErrorCause, ErrorDetails } from './errors/flotilla-error';
export { ClusterErrors } from './errors/cluster-errors';
export {
  CLUSTER_API_GROUP,
  CLUSTER_API_VERSION,
  CLUSTER_KIND,
  CLUSTER_LIST_KIND,
  HOST_CLUSTER_LABEL,
  KNOWN_PROVIDERS,
  ClusterConditionType,
  ConnectionType,
  splitCredentials,
} from './cluster/cluster';
export type {
  Cluster,
  ClusterCondition,
  ClusterCredentials,
  ClusterSpec,
  ClusterStatus,
  ConditionStatus,
  Connection,
  ManagedFieldsEntry,
  ObjectMeta,
} from './cluster/cluster';
export { CredentialConditionReason, CredentialConditionType, findCondition, setCondition } from './cluster/conditions';
export {
  CLUSTER_CREDENTIAL_FIELDS,
  LAST_APPLIED_ANNOTATION,
  credentialDoor,
  credentialSecrets,
  scrubCredentialsFromMetadata,
  scrubCredentialsFromPatch,
} from './cluster/credentials-in-metadata';
export type { MetadataScrub } from './cluster/credentials-in-metadata';
export { MAX_KUBECONFIG_BYTES, MAX_MANAGED_FIELDS_BYTES, decodeKubeconfig, parseManagedFieldsJson, validateClusterInput } from './cluster/cluster-validation';
export type { ValidatedCluster } from './cluster/cluster-validation';
export { dns1123LabelErrors, labelValueErrors, qualifiedNameErrors } from './cluster/names';
export { matchesLabels, parseLabelSelector } from './selectors/label-selector';
export type { LabelRequirement } from './selectors/label-selector';
export { parseFieldSelector } from './selectors/field-selector';
export type { FieldRequirement } from './selectors/field-selector';
export { PatchType, applyJsonPatch, applyMergePatch, patchTypeFromContentType } from './patch/patch';
export {
  HealthReason,
  IDENTITY_MISMATCH_CONDITION,
  PROBE_INTERVAL_ANNOTATION,
  advanceHealth,
  certificateExpiresWithin,
  classifyProbe,
  initialHealthState,
  nextProbeDelay,
  parseProbeInterval,
} from './health/health';
export type {
  BackoffConfig,
  HealthState,
  HealthTransition,
  HysteresisConfig,
  ProbeClassification,
  ProbeObservation,
  ProbeVerdict,
  ReadyState,
} from './health/health';
export { statusAfterProbe, statusDiffers } from './health/health-status';
export type { ProbeStatusInput } from './health/health-status';
export {
  IMPORT_JOB_KIND,
  IMPORT_JOB_LIST_KIND,
  ImportAnnotations,
  MEMBER_UID_LABEL,
  SERVICE_ACCOUNT_CREDENTIALS,
  UNBIND_FINALIZER,
  importJobName,
} from './imports/import';
export type { ImportJob, ImportJobOrphan, ImportJobState, ImportJobStep, ImportJobType } from './imports/import';
export { CLUSTER_EVENTS_PER_CLUSTER, CLUSTER_EVENT_RETENTION_DAYS, clusterEventFromTransition } from './health/cluster-event';
export type { ClusterEvent } from './health/cluster-event';
export {
  FLOTILLA_IAM_GROUP,
  FLOTILLA_IAM_VERSION,
  FleetRole,
  IamResource,
  KUBESPHERE_IAM_GROUP,
  KUBESPHERE_IAM_VERSION,
  MEMBER_ROLES,
  MemberRole,
  TOKEN_HASH_ANNOTATION,
  impersonatedRoleGroup,
  impersonatedUser,
} from './iam/iam';
export type { ClusterAccessBinding, GlobalRoleBinding, LabelSelector, Principal, Subject, SubjectKind, Token, User } from './iam/iam';
export { newTokenSecret, tokenHash, tokenNameOf } from './iam/token-secret';
export type { NewTokenSecret } from './iam/token-secret';
export { MAX_ANNOTATIONS_BYTES, validateLabelsAndAnnotations } from './validation/object-meta';
export type { MetadataCauses } from './validation/object-meta';
export { labelSelectorMatches, labelSelectorRequirements, labelSelectorString } from './selectors/label-selector';
export { MemberAccess, memberRoleAtLeast, memberRoleFromBindings, subjectKeys } from './iam/access';
export type { AccessOptions, AccessPrincipal } from './iam/access';
export {
  ADOPT_ANNOTATION,
  DRIFT_ANNOTATION,
  FEDERATED_OBJECT_ANNOTATION,
  FEDERATION_EVENTS_PER_OBJECT,
  FEDERATION_EVENT_DEDUP_SECONDS,
  FEDERATION_EVENT_RESOURCE,
  FEDERATION_FINALIZER,
  FEDERATION_GROUP,
  FIELD_MANAGER,
  FederationClusterReason,
  FederationConditionReason,
  HASH_ANNOTATION,
  LAST_WRITER_ANNOTATION,
  MANAGED_BY_LABEL,
  NAMESPACE_RESOURCE,
  ORPHAN_API_VERSION,
  ORPHAN_CLUSTER_LABEL,
  ORPHAN_KIND,
  ORPHAN_LIST_KIND,
  ORPHAN_RESOURCE,
  RETAIN_ANNOTATION,
  federatedObjectKey,
  federationPolicies,
  lastWriterValue,
  managedByValue,
  orphanName,
  parseFederatedObjectKey,
  parseLastWriter,
} from './federation/constants';
export type { FederationPolicies, LastWriter } from './federation/constants';
export {
  CLUSTER_FEDERATED_OBJECT_KIND,
  FEDERATED_KINDS,
  FEDERATED_OBJECT_KIND,
  FLOTILLA_TYPES_GROUP,
  FLOTILLA_TYPES_VERSION,
  KUBEFED_TYPES_GROUP,
  KUBEFED_TYPES_VERSION,
  REPLICA_SCHEDULING_PREFERENCE,
  federatedApiVersion,
  federatedKindByKind,
  federatedKindByPlural,
  federatedKindByStoreKey,
} from './federation/kinds';
export type { FederatedKindInfo, FederatedTarget } from './federation/kinds';
export type {
  ClusterOverrideOp,
  FederatedClusterState,
  FederatedClusterStatus,
  FederatedCondition,
  FederatedObject,
  FederatedObjectMeta,
  FederatedOverride,
  FederatedPlacement,
  FederatedStatus,
  Orphan,
  ReplicaClusterPreference,
  ReplicaSchedulingPreference,
  ReplicaSchedulingPreferenceSpec,
} from './federation/types';
export { builtinKind, splitApiVersion } from './federation/builtin-kinds';
export type { BuiltinKind, BuiltinLookup } from './federation/builtin-kinds';
export { DEFAULT_FEDERATION_LIMITS, DEFAULT_MAX_TEMPLATE_BYTES, federatedUnknownFields, validateFederatedObject } from './federation/validation';
export type { FederationLimits } from './federation/validation';
export { canonicalCopy, canonicalHash, canonicalJson, memberObjectFor } from './federation/member-object';
export type { MemberObject } from './federation/member-object';
export { PlacementIndex, placementSelects } from './federation/placement';
export type { PlacementCluster, PlacementLike } from './federation/placement';
export { divideReplicas, validateReplicaSchedulingPreference } from './federation/replicas';
export { summariseWorkload } from './federation/workload-status';
export type { WorkloadSummary } from './federation/workload-status';
export {
  NAME_COLUMN,
  TABLE_AGE_DESCRIPTION,
  TABLE_NAME_DESCRIPTION,
  ageColumn,
  ageOf,
  columnDefinitions,
  humanDuration,
  partialObjectMetadata,
  tableColumn,
  tableMetadataOf,
  tableRow,
  toTable,
} from './tables/table';
export type { IncludeObject, Table, TableCell, TableColumn, TableColumnDefinition, TableObject, TableRow, ToTableOptions } from './tables/table';
export { NOT_ACCEPTABLE_MESSAGE, negotiateTable, parseIncludeObject } from './tables/negotiate';
export type { TableNegotiation } from './tables/negotiate';
