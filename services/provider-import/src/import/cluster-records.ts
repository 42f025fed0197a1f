import { Inject, Injectable } from '@nestjs/common';
import { Cluster, ClusterStatus, ErrorReason, FlotillaError } from '@flotilla/domain';
import { REGISTRY_CLIENT, RegistryClient } from '@flotilla/clients';

/** The registry as provider-import uses it: read, update with retries on conflict, status, credentials. */
@Injectable()
export class ClusterRecords {
  constructor(@Inject(REGISTRY_CLIENT) private readonly registry: RegistryClient) {}

  find(name: string): Promise<Cluster | undefined> {
    return this.registry.findCluster(name);
  }

  /** The cluster, or the registry's NotFound. */
  get(name: string): Promise<Cluster> {
    return this.registry.getCluster(name);
  }

  /** Replaces metadata and spec once, at the resourceVersion read (Conflict when it moved on). */
  replace(cluster: Cluster): Promise<Cluster> {
    return this.registry.updateCluster(cluster);
  }

  async credentials(name: string): Promise<{ kubeconfig: string; uid: string }> {
    const c = await this.registry.getClusterCredentials(name);
    return { kubeconfig: c.kubeconfig ?? '', uid: c.uid };
  }

  /** Applies `change` to the latest version, retrying on Conflict. Returns undefined when it is gone. */
  async update(name: string, uid: string, change: (c: Cluster) => Cluster | undefined): Promise<Cluster | undefined> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.find(name);
      if (!current || current.metadata.uid !== uid) return undefined;
      const next = change(structuredClone(current));
      if (!next) return current;
      try {
        return await this.registry.updateCluster(next);
      } catch (error) {
        if (error instanceof FlotillaError && error.reason === ErrorReason.Conflict && attempt < 5) continue;
        if (error instanceof FlotillaError && error.reason === ErrorReason.NotFound) return undefined;
        throw error;
      }
    }
  }

  /** Every cluster, page by page (the credential renewal sweep). */
  async *all(pageSize = 500): AsyncGenerator<Cluster> {
    let next: string | undefined;
    do {
      const page = await this.registry.listClusters({ limit: pageSize, ...(next ? { continue: next } : {}) });
      yield* page.items;
      next = page.metadata.continue;
    } while (next);
  }

  /**
   * Stores a kubeconfig Flotilla made for the cluster (the service-account path's, at import and
   * at each token renewal): the one path by which provider-import writes credentials. Returns
   * undefined when the cluster is gone or replaced.
   */
  storeKubeconfig(name: string, uid: string, kubeconfig: string): Promise<Cluster | undefined> {
    return this.update(name, uid, (c) => {
      c.spec.connection = { ...c.spec.connection, kubeconfig };
      return c;
    });
  }

  setStatus(name: string, status: ClusterStatus): Promise<Cluster> {
    return this.registry.updateClusterStatus(name, status);
  }

  clusterWithMemberUid(memberUid: string, exceptName: string): Promise<string | undefined> {
    return this.registry.clusterWithMemberUid(memberUid, exceptName);
  }
}
