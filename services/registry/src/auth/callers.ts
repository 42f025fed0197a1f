import { credentialsV1, eventsV1, importsV1, registryV1 } from '@flotilla/contracts';
import { CallerTable, InternalIdentity as Id, grpcPath } from '@flotilla/service-kit';

const registry = (method: string) => grpcPath(registryV1.PROTOBUF_PACKAGE, registryV1.REGISTRY_SERVICE_NAME, method);
const imports = (method: string) => grpcPath(importsV1.PROTOBUF_PACKAGE, importsV1.IMPORTJOB_SERVICE_NAME, method);
const events = (method: string) => grpcPath(eventsV1.PROTOBUF_PACKAGE, eventsV1.CLUSTEREVENT_SERVICE_NAME, method);
const credentials = (method: string) => grpcPath(credentialsV1.PROTOBUF_PACKAGE, credentialsV1.CREDENTIALSADMIN_SERVICE_NAME, method);

/**
 * Who may call each registry method, by internal identity (docs/security.md). The one server
 * interceptor of service-kit applies it to every call; a method missing here is refused to
 * everyone, so a new RPC is closed until it is declared. The operator identity (tools, tests) may
 * call every declared method, and exists only where FLOTILLA_INTERNAL_CALLERS names it.
 */
export const REGISTRY_CALLERS: CallerTable = {
  [registry('GetCluster')]: [Id.Gateway, Id.ProviderImport, Id.HealthProbe, Id.FederationSync],
  [registry('ListClusters')]: [Id.Gateway, Id.ProviderImport, Id.HealthProbe, Id.FederationSync],
  [registry('WatchClusters')]: [Id.Gateway, Id.HealthProbe, Id.FederationSync],
  // Writes of the resource come from the REST API; provider-import writes the lasting credentials and rotations.
  [registry('CreateCluster')]: [Id.Gateway],
  [registry('UpdateCluster')]: [Id.Gateway, Id.ProviderImport],
  [registry('PatchCluster')]: [Id.Gateway, Id.ProviderImport],
  [registry('DeleteCluster')]: [Id.Gateway],
  // Status belongs to the workers: the gateway may not set Initialized=True on an unchecked cluster.
  [registry('UpdateClusterStatus')]: [Id.ProviderImport, Id.HealthProbe],
  // Decrypted credentials: only the services that connect to members (later also the tunnel).
  [registry('GetClusterCredentials')]: [Id.ProviderImport, Id.HealthProbe, Id.FederationSync, Id.Tunnel],
  [registry('RecordProbeTimes')]: [Id.HealthProbe],
  [imports('ReportImportJob')]: [Id.ProviderImport],
  [imports('ListImportJobs')]: [Id.Gateway, Id.ProviderImport],
  [events('RecordClusterEvent')]: [Id.HealthProbe],
  [events('ListClusterEvents')]: [Id.Gateway],
  // Re-encryption to the current key: the REST API, for the admin (counts only, never a credential).
  [credentials('StartReencryption')]: [Id.Gateway],
  [credentials('GetReencryption')]: [Id.Gateway],
  [credentials('ListReencryptions')]: [Id.Gateway],
};
