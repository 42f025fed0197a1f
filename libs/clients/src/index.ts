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
  StatusWrite,
  StatusWriteResult,
  StoredCredentials,
  WatchClustersOptions,
} from './registry-client';
export { IMPORT_JOBS_CLIENT, ImportJobsClient } from './import-jobs-client';
export { CLUSTER_EVENTS_CLIENT, type ClusterEventBatch, ClusterEventsClient, type WatchClusterEventsOptions } from './cluster-events-client';
export { IMPORT_CLIENT, ImportClient } from './import-client';
export type { ClusterValidation, CredentialRotation, ImportCheckResult } from './import-client';
export { CREDENTIALS_ADMIN_CLIENT, CredentialsAdminClient } from './credentials-admin-client';
export type { KeyUsage, Reencryption, ReencryptionPhase } from './credentials-admin-client';
export { AUDIT_STORE, OBJECT_STORE } from './object-store';
export type { AuditEvent, AuditQuery, AuditStore, ObjectChange, ObjectChangePage, ObjectListPage, ObjectStore, StoredObject } from './object-store';
export { MAX_OBJECT_JSON_BYTES, ObjectsClient } from './objects-client';
export { AuditClient, MAX_AUDIT_BATCH, MAX_AUDIT_EVENT_JSON_BYTES } from './audit-client';
export { ClusterFollower } from './cluster-follower';
export type { ClusterFollowerChange, ClusterFollowerOptions, ClusterFollowerRegistry } from './cluster-follower';
export { ObjectFollower } from './object-follower';
export type { ObjectFollowerOptions, ObjectListing } from './object-follower';
export { CREDENTIALS_BATCH_MAX, CredentialsReaderClient } from './credentials-reader-client';
export type { BatchCredentials, CredentialsBatchResult } from './credentials-reader-client';
