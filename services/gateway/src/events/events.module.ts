import { Module } from '@nestjs/common';
import { CLUSTER_EVENTS_CLIENT, ClusterEventsClient, REGISTRY_CLIENT, RegistryClient } from '@flotilla/clients';
import { CONFIG, RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import type { GatewayConfig } from '../config';
import { EventsApiService } from './events-api.service';
import { EventsController } from './events.controller';

/**
 * Kubernetes Events (core/v1 and events.k8s.io/v1) over Flotilla's cluster and federation events.
 * Its own registry clients (module-scoped); OBJECT_STORE comes from IamModule (global).
 */
@Module({
  controllers: [EventsController],
  providers: [
    {
      provide: CLUSTER_EVENTS_CLIENT,
      inject: [CONFIG, RUNTIME],
      useFactory: (config: GatewayConfig, runtime: ServiceRuntime) => {
        const client = new ClusterEventsClient(config.REGISTRY_GRPC_URL);
        runtime.shutdown.onClose('events-api-cluster-events-client', async () => client.close());
        return client;
      },
    },
    {
      provide: REGISTRY_CLIENT,
      inject: [CONFIG, RUNTIME],
      useFactory: (config: GatewayConfig, runtime: ServiceRuntime) => {
        const client = new RegistryClient(config.REGISTRY_GRPC_URL);
        runtime.shutdown.onClose('events-api-registry-client', async () => client.close());
        return client;
      },
    },
    EventsApiService,
  ],
})
export class EventsModule {}
