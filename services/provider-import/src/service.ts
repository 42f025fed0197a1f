import type { WorkerServiceSpec } from '@flotilla/service-kit';
import { CONFIG, IMPORT_JOBS_CLIENT, ImportJobsClient, RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import { JobName } from '@flotilla/queue';
import type { ProviderImportConfig } from './config';
import { ClusterRecords } from './import/cluster-records';
import { ImportProcessor } from './import/import.processor';
import { ImportService } from './import/import.service';
import { PROVIDER_ADAPTERS } from './providers/provider';
import { ProviderRegistry } from './providers/provider-registry';
import { AliyunAckProvider } from './providers/aliyun-ack/aliyun-ack.provider';
import { AwsEksProvider } from './providers/aws-eks/aws-eks.provider';
import { GenericProvider } from './providers/generic/generic.provider';
import { KubeadmProvider } from './providers/kubeadm/kubeadm.provider';
import { RemovalProcessor } from './removal/removal.processor';
import { RemovalService } from './removal/removal.service';

/**
 * provider-import: the import and removal jobs. Imports validate a direct-connection cluster,
 * detect its provider, optionally swap its kubeconfig for a lasting service-account one, leave
 * the marker and bring it to Ready; removals unbind (docs/import.md).
 */
export const PROVIDER_IMPORT: WorkerServiceSpec = {
  name: 'provider-import',
  ports: { http: 8082, grpc: 50052 },
  declaredJobs: [JobName.ClusterImport, JobName.ClusterRemove],
  handlers: [ImportProcessor, RemovalProcessor],
  providers: [
    ClusterRecords,
    ImportService,
    RemovalService,
    ProviderRegistry,
    AwsEksProvider,
    AliyunAckProvider,
    KubeadmProvider,
    GenericProvider,
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
