import type { WorkerServiceSpec } from '@flotilla/service-kit';
import { CONFIG, InternalIdentity, RUNTIME, ServiceRuntime, grpcPath } from '@flotilla/service-kit';
import { CLUSTER_EVENTS_CLIENT, ClusterEventsClient, IMPORT_JOBS_CLIENT, ImportJobsClient, OBJECT_STORE, ObjectsClient } from '@flotilla/clients';
import { importV1 } from '@flotilla/contracts';
import { JobName } from '@flotilla/queue';
import type { ProviderImportConfig } from './config';
import { ACCESS_SYNC_PROVIDERS } from './access-sync/access-sync.service';
import { ClusterRecords } from './import/cluster-records';
import { CredentialRenewalService } from './credentials/credential-renewal.service';
import { ImportProcessor } from './import/import.processor';
import { ImportService } from './import/import.service';
import { ImportApiController } from './import-api/import-api.controller';
import { ImportApiService } from './import-api/import-api.service';
import { PROVIDER_ADAPTERS } from './providers/provider';
import { ProviderRegistry } from './providers/provider-registry';
import { ReconcilerService } from './reconcile/reconciler.service';
import { AliyunAckProvider } from './providers/aliyun-ack/aliyun-ack.provider';
import { AwsEksProvider } from './providers/aws-eks/aws-eks.provider';
import { GenericProvider } from './providers/generic/generic.provider';
import { KubeadmProvider } from './providers/kubeadm/kubeadm.provider';
import { RemovalProcessor } from './removal/removal.processor';
import { RemovalService } from './removal/removal.service';

/**
 * provider-import: the import and removal jobs. Imports validate a direct-connection cluster,
 * detect its provider, optionally swap its kubeconfig for a lasting service-account one, leave
 * the marker and bring it to Ready; removals unbind (docs/import.md). It also serves the import
 * checks on request (flotilla.import.v1.ImportService: guard, validation, rotation) to the gateway,
 * and is the only reader of the import policy (ADR 0027).
 */
export const PROVIDER_IMPORT: WorkerServiceSpec = {
  name: 'provider-import',
  ports: { http: 8082, grpc: 50052 },
  declaredJobs: [JobName.ClusterImport, JobName.ClusterRemove],
  handlers: [ImportProcessor, RemovalProcessor],
  grpcPackages: [{ package: importV1.PROTOBUF_PACKAGE, protoFile: importV1.PROTO_FILE }],
  // Only the gateway asks for the import checks (ADR 0027); service-kit's interceptor enforces it.
  callers: Object.fromEntries(
    ['CheckKubeconfig', 'ValidateCluster', 'RotateCredentials'].map((m) => [grpcPath(importV1.PROTOBUF_PACKAGE, importV1.IMPORT_SERVICE_NAME, m), [InternalIdentity.Gateway]]),
  ),
  controllers: [ImportApiController],
  providers: [
    ClusterRecords,
    ImportService,
    ImportApiService,
    RemovalService,
    CredentialRenewalService,
    ReconcilerService,
    ProviderRegistry,
    AwsEksProvider,
    AliyunAckProvider,
    KubeadmProvider,
    GenericProvider,
    ...ACCESS_SYNC_PROVIDERS,
    {
      // The IAM objects the member impersonation sync follows (ADR 0030).
      provide: OBJECT_STORE,
      inject: [CONFIG, RUNTIME],
      useFactory: (config: ProviderImportConfig, runtime: ServiceRuntime) => {
        const store = new ObjectsClient(config.REGISTRY_GRPC_URL, config.FLOTILLA_INTERNAL_TOKEN);
        runtime.shutdown.onClose('objects-client', async () => store.close());
        return store;
      },
    },
    {
      // A member refusing the impersonation sync is reported as a cluster event.
      provide: CLUSTER_EVENTS_CLIENT,
      inject: [CONFIG, RUNTIME],
      useFactory: (config: ProviderImportConfig, runtime: ServiceRuntime) => {
        const client = new ClusterEventsClient(config.REGISTRY_GRPC_URL, config.FLOTILLA_INTERNAL_TOKEN);
        runtime.shutdown.onClose('cluster-events-client', async () => client.close());
        return client;
      },
    },
    {
      // Order matters: the first adapter that recognises the cluster wins; generic is last.
      provide: PROVIDER_ADAPTERS,
      inject: [AwsEksProvider, AliyunAckProvider, KubeadmProvider, GenericProvider],
      useFactory: (...adapters: unknown[]) => adapters,
    },
    {
      provide: IMPORT_JOBS_CLIENT,
      inject: [CONFIG, RUNTIME],
      useFactory: (config: ProviderImportConfig, runtime: ServiceRuntime) => {
        const client = new ImportJobsClient(config.REGISTRY_GRPC_URL, config.FLOTILLA_INTERNAL_TOKEN);
        runtime.shutdown.onClose('import-jobs-client', async () => client.close());
        return client;
      },
    },
  ],
};
