import type { Cluster, ClusterStatus } from '@flotilla/domain';
import { RegistryClient } from '@flotilla/clients';

/** The registry as health-probe's tests drive it, in domain types: the one place the tests call its gRPC client. */
export interface TestRegistry {
  /** Creates a cluster (with its credentials), as the gateway would. */
  create(cluster: Cluster): Promise<void>;
  get(name: string): Promise<Cluster>;
  /** Replaces a cluster's spec (with its credentials). */
  update(cluster: Cluster): Promise<void>;
  /** Writes a status as provider-import would at the end of an import. */
  writeStatus(name: string, status: ClusterStatus): Promise<void>;
  close(): void;
}

export function testRegistry(target: string, internalToken: string): TestRegistry {
  const client = new RegistryClient(target, internalToken);
  return {
    async create(cluster) {
      await client.createCluster(cluster);
    },
    get: (name) => client.getCluster(name),
    async update(cluster) {
      await client.updateCluster(cluster);
    },
    async writeStatus(name, status) {
      await client.updateClusterStatus(name, status);
    },
    close: () => client.close(),
  };
}
