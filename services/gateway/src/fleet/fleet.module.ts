import { Module } from '@nestjs/common';
import { RegistryClient } from '@flotilla/clients';
import { CONFIG, RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import { ClusterMirror } from './cluster-mirror';

/** The registry client the fleet mirror and the proxy use (its own channel; the process's internal token). */
export const FLEET_REGISTRY_CLIENT = Symbol('gateway.fleet-registry-client');

/**
 * This replica's in-memory view of the fleet (ClusterMirror), started with the module and stopped
 * at drain. The gateway is not ready until the first list has been applied. Bind the authorizer's
 * CLUSTER_LABELS to it with `{ provide: CLUSTER_LABELS, useExisting: ClusterMirror }`.
 */
@Module({
  providers: [
    {
      provide: FLEET_REGISTRY_CLIENT,
      inject: [CONFIG, RUNTIME],
      useFactory: (config: { REGISTRY_GRPC_URL: string }, runtime: ServiceRuntime) => {
        const client = new RegistryClient(config.REGISTRY_GRPC_URL);
        runtime.shutdown.onClose('fleet-registry-client', async () => client.close());
        return client;
      },
    },
    {
      provide: ClusterMirror,
      inject: [FLEET_REGISTRY_CLIENT, RUNTIME],
      useFactory: (registry: RegistryClient, runtime: ServiceRuntime) => {
        const mirror = new ClusterMirror(registry, (error) =>
          runtime.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'cluster mirror: watch failed; resuming'),
        );
        mirror.start();
        runtime.health.register({
          name: 'cluster-mirror',
          check: async () => {
            if (!mirror.isSynced) throw new Error('the fleet has not been listed from the registry yet');
          },
        });
        runtime.shutdown.onDrain('cluster-mirror', async () => mirror.stop());
        return mirror;
      },
    },
  ],
  exports: [ClusterMirror, FLEET_REGISTRY_CLIENT],
})
export class FleetModule {}
