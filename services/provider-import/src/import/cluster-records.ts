import { Inject, Injectable } from '@nestjs/common';
import { Cluster, ClusterStatus, ErrorReason, FlotillaError, MEMBER_UID_LABEL } from '@flotilla/domain';
import { clusterFromProto, clusterToProto, statusToProto } from '@flotilla/contracts';
import { REGISTRY_CLIENT, RegistryClient } from '@flotilla/service-kit';

export { MEMBER_UID_LABEL };

/** The registry as provider-import uses it: read, update with retries on conflict, status, credentials. */
@Injectable()
export class ClusterRecords {
  constructor(@Inject(REGISTRY_CLIENT) private readonly registry: RegistryClient) {}

  async find(name: string): Promise<Cluster | undefined> {
    try {
      return clusterFromProto(await this.registry.getCluster({ name }));
    } catch (error) {
      if (error instanceof FlotillaError && error.reason === ErrorReason.NotFound) return undefined;
      throw error;
    }
  }

  async credentials(name: string): Promise<{ kubeconfig: string; uid: string }> {
    const c = await this.registry.getClusterCredentials({ name });
    return { kubeconfig: c.kubeconfig ?? '', uid: c.uid ?? '' };
  }

  /** Applies `change` to the latest version, retrying on Conflict. Returns undefined when it is gone. */
  async update(name: string, uid: string, change: (c: Cluster) => Cluster | undefined): Promise<Cluster | undefined> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.find(name);
      if (!current || current.metadata.uid !== uid) return undefined;
      const next = change(structuredClone(current));
      if (!next) return current;
      try {
        return clusterFromProto(await this.registry.updateCluster({ cluster: clusterToProto(next, true) }));
      } catch (error) {
        if (error instanceof FlotillaError && error.reason === ErrorReason.Conflict && attempt < 5) continue;
        if (error instanceof FlotillaError && error.reason === ErrorReason.NotFound) return undefined;
        throw error;
      }
    }
  }

  async setStatus(name: string, status: ClusterStatus): Promise<void> {
    await this.registry.updateClusterStatus({ name, status: statusToProto(status) });
  }

  async clusterWithMemberUid(memberUid: string, exceptName: string): Promise<string | undefined> {
    const list = await this.registry.listClusters({ labelSelector: `${MEMBER_UID_LABEL}=${memberUid}` });
    return (list.items ?? []).map((c) => c.metadata?.name ?? '').find((n) => n !== exceptName);
  }
}
