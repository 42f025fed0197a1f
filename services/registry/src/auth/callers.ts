import { auditV1, credentialsV1, eventsV1, importsV1, objectsV1, registryV1 } from '@flotilla/contracts';
import { CallerTable, InternalIdentity as Id, grpcPath } from '@flotilla/service-kit';

const registry = (method: string) => grpcPath(registryV1.PROTOBUF_PACKAGE, registryV1.REGISTRY_SERVICE_NAME, method);
const imports = (method: string) => grpcPath(importsV1.PROTOBUF_PACKAGE, importsV1.IMPORTJOB_SERVICE_NAME, method);
const events = (method: string) => grpcPath(eventsV1.PROTOBUF_PACKAGE, eventsV1.CLUSTEREVENT_SERVICE_NAME, method);
const credentials = (method: string) => grpcPath(credentialsV1.PROTOBUF_PACKAGE, credentialsV1.CREDENTIALSADMIN_SERVICE_NAME, method);
const objects = (method: string) => grpcPath(objectsV1.PROTOBUF_PACKAGE, objectsV1.OBJECT_SERVICE_NAME, method);
const audit = (method: string) => grpcPath(auditV1.PROTOBUF_PACKAGE, auditV1.AUDIT_SERVICE_NAME, method);

/**
 * Who may call each registry method, by internal identity (docs/security.md). The one server
 * interceptor of service-kit applies it to every call; a method missing here is refused to
 * everyone, so a new RPC is closed until it is declared. The operator identity (tools, tests) may
 * call every declared method, and exists only where FLOTILLA_INTERNAL_CALLERS names it.
 */
export const REGISTRY_CALLERS: CallerTable = {
  [registry('GetCluster')]: [Id.Gateway, Id.ProviderImport, Id.HealthProbe, Id.FederationSync],
  [registry('ListClusters')]: [Id.Gateway, Id.ProviderImport, Id.HealthProbe, Id.FederationSync],
  [registry('WatchClusters')]: [Id.Gateway, Id.ProviderImport, Id.HealthProbe, Id.FederationSync],
  // Writes of the resource come from the REST API; provider-import writes the lasting credentials and rotations.
  [registry('CreateCluster')]: [Id.Gateway],
  [registry('UpdateCluster')]: [Id.Gateway, Id.ProviderImport],
  [registry('PatchCluster')]: [Id.Gateway, Id.ProviderImport],
  [registry('DeleteCluster')]: [Id.Gateway],
  // Status belongs to the workers: the gateway may not set Initialized=True on an unchecked cluster.
  [registry('UpdateClusterStatus')]: [Id.ProviderImport, Id.HealthProbe],
  // The same, hundreds at a time: health-probe's cold start and steady state.
  [registry('UpdateClusterStatuses')]: [Id.HealthProbe],
  // Decrypted credentials: only the services that connect to members (later also the tunnel).
  // The gateway too: the API proxy (issue 14) calls members with Flotilla's credentials.
  [registry('GetClusterCredentials')]: [Id.Gateway, Id.ProviderImport, Id.HealthProbe, Id.FederationSync, Id.Tunnel],
  [registry('RecordProbeTimes')]: [Id.HealthProbe],
  // Cold start of the workers that reach every member: health-probe, and federation-sync's member pool.
  [grpcPath(credentialsV1.PROTOBUF_PACKAGE, credentialsV1.CREDENTIALSREADER_SERVICE_NAME, 'BatchGetClusterCredentials')]: [Id.HealthProbe, Id.FederationSync],
  [imports('ReportImportJob')]: [Id.ProviderImport],
  [imports('ListImportJobs')]: [Id.Gateway, Id.ProviderImport],
  // provider-import reports a member refusing the impersonation sync (ADR 0030); federation-sync
  // apply failures, conflicts, drift repairs and orphans in a member (issue 15).
  [events('RecordClusterEvent')]: [Id.HealthProbe, Id.ProviderImport, Id.FederationSync],
  [events('ListClusterEvents')]: [Id.Gateway],
  // kubectl get events -w through the REST API: a stream per watch, bounded per user the gateway names.
  [events('WatchClusterEvents')]: [Id.Gateway],
  // Re-encryption to the current key: the REST API, for the admin (counts only, never a credential).
  [credentials('StartReencryption')]: [Id.Gateway],
  [credentials('GetReencryption')]: [Id.Gateway],
  [credentials('ListReencryptions')]: [Id.Gateway],
  // The generic object store (users, tokens, role bindings, federated objects): the REST API
  // writes; the workers read and follow the change log. federation-sync writes too: the status of
  // federated objects, orphans, events, and the final delete after its cleanup (issue 15).
  [objects('CreateObject')]: [Id.Gateway, Id.FederationSync],
  [objects('UpdateObject')]: [Id.Gateway, Id.FederationSync],
  [objects('DeleteObject')]: [Id.Gateway, Id.FederationSync],
  [objects('GetObject')]: [Id.Gateway, Id.ProviderImport, Id.FederationSync],
  [objects('ListObjects')]: [Id.Gateway, Id.ProviderImport, Id.FederationSync],
  [objects('ListObjectChanges')]: [Id.Gateway, Id.ProviderImport, Id.FederationSync],
  // The same changes pushed as they commit (ADR 0036): a stream per follower, bounded per caller.
  [objects('WatchObjectChanges')]: [Id.Gateway, Id.ProviderImport, Id.FederationSync],
  // Sealed fields in plaintext (a FederatedSecret's data, ADR 0034): only the service that places them in members.
  [objects('UnsealObject')]: [Id.FederationSync],
  // Audit events: written and read by the gateway only (it audits its API and the API proxy).
  [audit('AppendAuditEvents')]: [Id.Gateway],
  [audit('QueryAuditEvents')]: [Id.Gateway],
};
