import { Module } from '@nestjs/common';
import { AUDIT_STORE, AuditClient, CLUSTER_EVENTS_CLIENT, ClusterEventsClient, IMPORT_CLIENT, IMPORT_JOBS_CLIENT, ImportClient, ImportJobsClient, OBJECT_STORE, ObjectsClient, REGISTRY_CLIENT, RegistryClient } from '@flotilla/clients';
import { CONFIG, RUNTIME, ServiceRuntime, grpcReadinessCheck } from '@flotilla/service-kit';
import { AdminModule } from './admin/admin.module';
import { AuditController } from './audit/audit.controller';
import { AuditQueryService } from './audit/audit-query.service';
import { auditRecorderProvider } from './audit/audit.providers';
import { AUTHORIZER, authProviders } from './auth/auth.providers';
import { CLUSTER_LABELS } from './authz/authorizer';
import { federationProviders } from './federation/federation.providers';
import { FEDERATION_FLEET, FEDERATION_ROLES } from './federation/write-authorization';
import { ClusterMirror } from './fleet/cluster-mirror';
import { FleetModule } from './fleet/fleet.module';
import { IamModule } from './iam/iam.module';
import { gatewayCaProvider } from './kubeconfigs/kubeconfigs.providers';
import { KubeconfigsController } from './kubeconfigs/kubeconfigs.controller';
import { KubeconfigsService } from './kubeconfigs/kubeconfigs.service';
import { ProxyModule } from './proxy/proxy.module';
import { ClustersApiService } from './clusters/clusters-api.service';
import { ClustersController } from './clusters/clusters.controller';
import { GatewayConfig } from './config';
import { ImportsApiService } from './imports/imports-api.service';
import { ImportsController } from './imports/imports.controller';
import { KubeconfigGuard } from './imports/kubeconfig-guard';
import { ClusterEventsApiService } from './events/cluster-events-api.service';
import { ClusterEventsController } from './events/cluster-events.controller';
import { EventsModule } from './events/events.module';

@Module({
  imports: [
    AdminModule,
    EventsModule,
    FleetModule,
    ProxyModule,
    IamModule.register({
      objectStore: {
        provide: OBJECT_STORE,
        inject: [CONFIG, RUNTIME],
        useFactory: (config: GatewayConfig, runtime: ServiceRuntime) => {
          const client = new ObjectsClient(config.REGISTRY_GRPC_URL);
          runtime.shutdown.onClose('objects-client', async () => client.close());
          return client;
        },
      },
    }),
  ],
  controllers: [ImportsController, ClusterEventsController, KubeconfigsController, ClustersController, AuditController],
  providers: [
    ...authProviders,
    { provide: CLUSTER_LABELS, useExisting: ClusterMirror },
    { provide: FEDERATION_ROLES, useExisting: AUTHORIZER },
    { provide: FEDERATION_FLEET, useExisting: ClusterMirror },
    ...federationProviders,
    {
      provide: AUDIT_STORE,
      inject: [CONFIG, RUNTIME],
      useFactory: (config: GatewayConfig, runtime: ServiceRuntime) => {
        const client = new AuditClient(config.REGISTRY_GRPC_URL);
        runtime.shutdown.onClose('audit-client', async () => client.close());
        return client;
      },
    },
    auditRecorderProvider,
    AuditQueryService,
    gatewayCaProvider,
    KubeconfigsService,
    {
      provide: REGISTRY_CLIENT,
      inject: [CONFIG, RUNTIME],
      useFactory: (config: GatewayConfig, runtime: ServiceRuntime) => {
        const client = new RegistryClient(config.REGISTRY_GRPC_URL);
        runtime.health.register(grpcReadinessCheck('registry', config.REGISTRY_GRPC_URL));
        runtime.shutdown.onClose('registry-client', async () => client.close());
        return client;
      },
    },
    {
      provide: IMPORT_JOBS_CLIENT,
      inject: [CONFIG, RUNTIME],
      useFactory: (config: GatewayConfig, runtime: ServiceRuntime) => {
        const client = new ImportJobsClient(config.REGISTRY_GRPC_URL);
        runtime.shutdown.onClose('import-jobs-client', async () => client.close());
        return client;
      },
    },
    {
      // provider-import: the import checks and rotation run there (ADR 0027). Not a readiness
      // check: everything but those routes works without it, and they answer 503 naming it.
      provide: IMPORT_CLIENT,
      inject: [CONFIG, RUNTIME],
      useFactory: (config: GatewayConfig, runtime: ServiceRuntime) => {
        const client = new ImportClient(config.PROVIDER_IMPORT_GRPC_URL, config.FLOTILLA_INTERNAL_TOKEN, config.IMPORT_CALL_DEADLINE_MS);
        runtime.shutdown.onClose('import-client', async () => client.close());
        return client;
      },
    },
    {
      provide: CLUSTER_EVENTS_CLIENT,
      inject: [CONFIG, RUNTIME],
      useFactory: (config: GatewayConfig, runtime: ServiceRuntime) => {
        const client = new ClusterEventsClient(config.REGISTRY_GRPC_URL);
        runtime.shutdown.onClose('cluster-events-client', async () => client.close());
        return client;
      },
    },
    ClusterEventsApiService,
    KubeconfigGuard,
    ImportsApiService,
    ClustersApiService,
  ],
})
export class GatewayModule {}
