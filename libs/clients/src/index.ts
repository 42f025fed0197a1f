// Clients of Flotilla's own services (registry, import jobs, cluster events), returning domain types.
export { GrpcServiceClient, configureInternalCalls, internalCallDefaults } from './grpc-client';
export type { GrpcServiceClientOptions, GrpcServiceDefinition, InternalCallDefaults } from './grpc-client';
export { REGISTRY_CLIENT, RegistryClient } from './registry-client';
export type {
  ClusterBookmark,
  ClusterChange,
  ClusterList,
  ClusterWatchEvent,
  DeleteClusterOptions,
  DeleteOutcome,
  ListClustersOptions,
  StoredCredentials,
  WatchClustersOptions,
} from './registry-client';
export { IMPORT_JOBS_CLIENT, ImportJobsClient } from './import-jobs-client';
export { CLUSTER_EVENTS_CLIENT, ClusterEventsClient } from './cluster-events-client';
export { IMPORT_CLIENT, ImportClient } from './import-client';
export type { ClusterValidation, CredentialRotation, ImportCheckResult } from './import-client';
export { CREDENTIALS_ADMIN_CLIENT, CredentialsAdminClient } from './credentials-admin-client';
export type { KeyUsage, Reencryption, ReencryptionPhase } from './credentials-admin-client';
