import type { Provider } from '@nestjs/common';
import type { ClusterEvent } from '@flotilla/domain';
import { ClusterEventsClient, type ClusterFollowerRegistry, ObjectsClient, type ObjectStore, REGISTRY_CLIENT, RegistryClient } from '@flotilla/clients';
import { CONFIG, RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import type { FederationSyncConfig } from '../config';

/** The object store as federation-sync uses it: read, follow, write status/orphans/events, and unseal FederatedSecrets. */
export type SyncStore = Pick<ObjectStore, 'create' | 'update' | 'delete' | 'get' | 'list' | 'changes' | 'unseal'>;

/**
 * Everything federation-sync asks of the registry. The rest of the service sees only this port;
 * `registryPortProvider` is the one place that builds the registry's gRPC clients.
 */
export interface RegistryPort {
  store: SyncStore;
  clusters: ClusterFollowerRegistry;
  /** An event on a Cluster (RecordClusterEvent; idempotent by name). */
  recordClusterEvent(event: ClusterEvent): Promise<void>;
}

export const REGISTRY_PORT = Symbol('federation-sync.registry-port');

export const registryPortProvider: Provider = {
  provide: REGISTRY_PORT,
  inject: [CONFIG, RUNTIME, REGISTRY_CLIENT],
  useFactory: (config: FederationSyncConfig, runtime: ServiceRuntime, registry: RegistryClient): RegistryPort => {
    const timeout = config.FLOTILLA_FEDERATION_REQUEST_TIMEOUT_MS;
    const objects = new ObjectsClient(config.REGISTRY_GRPC_URL, config.FLOTILLA_INTERNAL_TOKEN, timeout);
    const events = new ClusterEventsClient(config.REGISTRY_GRPC_URL, config.FLOTILLA_INTERNAL_TOKEN);
    runtime.shutdown.onClose('registry-port', async () => {
      objects.close();
      events.close();
    });
    return {
      store: objects,
      clusters: registry,
      async recordClusterEvent(event) {
        await events.record(event);
      },
    };
  },
};
