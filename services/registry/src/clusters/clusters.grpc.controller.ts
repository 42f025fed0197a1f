import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata } from '@grpc/grpc-js';
import { Observable, concatMap } from 'rxjs';
import { clusterFromProto, clusterToProto, registryV1, statusFromProto } from '@flotilla/contracts';
import { ClusterWatchService } from './cluster-watch.service';
import { ClustersService } from './clusters.service';
import { INTERNAL_TOKEN_CHECK, InternalTokenCheck } from './internal-token';

const S = registryV1.REGISTRY_SERVICE_NAME;
const asList = (p: Awaited<ReturnType<ClustersService['list']>>): registryV1.ClusterList => ({
  metadata: { resourceVersion: p.resourceVersion, continue: p.continueToken ?? '', ...(p.remainingItemCount !== undefined ? { remainingItemCount: String(p.remainingItemCount) } : {}) },
  items: p.items.map((c) => clusterToProto(c)),
});

/** flotilla.registry.v1.RegistryService: maps messages in and out; the service holds the rules. */
@Controller()
export class ClustersGrpcController implements registryV1.RegistryServiceController {
  constructor(
    private readonly clusters: ClustersService,
    private readonly watcher: ClusterWatchService,
    @Inject(INTERNAL_TOKEN_CHECK) private readonly internalToken: InternalTokenCheck,
  ) {}

  @GrpcMethod(S, 'GetCluster')
  async getCluster(r: registryV1.GetClusterRequest): Promise<registryV1.Cluster> {
    return clusterToProto(await this.clusters.get(r.name ?? ''));
  }

  @GrpcMethod(S, 'ListClusters')
  async listClusters(r: registryV1.ListClustersRequest): Promise<registryV1.ClusterList> {
    return asList(await this.clusters.list({ labelSelector: r.labelSelector, fieldSelector: r.fieldSelector, limit: r.limit || undefined, continueToken: r.continue || undefined }));
  }

  @GrpcMethod(S, 'CreateCluster')
  async createCluster(r: registryV1.CreateClusterRequest): Promise<registryV1.Cluster> {
    return clusterToProto(await this.clusters.create(clusterFromProto(r.cluster ?? {}, true), r.dryRun ?? false));
  }

  @GrpcMethod(S, 'UpdateCluster')
  async updateCluster(r: registryV1.UpdateClusterRequest): Promise<registryV1.Cluster> {
    return clusterToProto(await this.clusters.update(clusterFromProto(r.cluster ?? {}, true), r.dryRun ?? false));
  }

  @GrpcMethod(S, 'PatchCluster')
  async patchCluster(r: registryV1.PatchClusterRequest): Promise<registryV1.Cluster> {
    return clusterToProto(await this.clusters.patch(r.name ?? '', r.patchType ?? '', r.patch ?? '', r.dryRun ?? false));
  }

  @GrpcMethod(S, 'DeleteCluster')
  async deleteCluster(r: registryV1.DeleteClusterRequest): Promise<registryV1.DeleteClusterResponse> {
    const outcome = await this.clusters.delete(r.name ?? '', { uid: r.preconditions?.uid || undefined, resourceVersion: r.preconditions?.resourceVersion || undefined }, r.dryRun ?? false);
    return { deleted: outcome.deleted, cluster: clusterToProto(outcome.cluster) };
  }

  @GrpcMethod(S, 'UpdateClusterStatus')
  async updateClusterStatus(r: registryV1.UpdateClusterStatusRequest): Promise<registryV1.Cluster> {
    return clusterToProto(await this.clusters.updateStatus(r.name ?? '', r.resourceVersion || undefined, statusFromProto(r.status)));
  }

  @GrpcMethod(S, 'WatchClusters')
  watchClusters(r: registryV1.WatchClustersRequest): Observable<registryV1.WatchEvent> {
    return this.watcher
      .watch({ resourceVersion: r.resourceVersion, labelSelector: r.labelSelector, fieldSelector: r.fieldSelector, allowBookmarks: r.allowBookmarks })
      .pipe(
        // In order: each event's object gets its cluster's last probe time (bookmarks and deletions have none).
        concatMap(async (e) => {
          const object = e.type === 'BOOKMARK' || e.type === 'DELETED' ? e.object : (await this.clusters.withProbeTimes([e.object]))[0]!;
          return { type: e.type, object: clusterToProto(object) };
        }),
      );
  }

  @GrpcMethod(S, 'RecordProbeTimes')
  async recordProbeTimes(r: registryV1.RecordProbeTimesRequest, metadata?: Metadata): Promise<registryV1.RecordProbeTimesResponse> {
    this.internalToken.assert(metadata);
    return { recorded: await this.clusters.recordProbeTimes((r.entries ?? []).map((e) => ({ name: e.name ?? '', time: e.time ?? '' }))) };
  }

  @GrpcMethod(S, 'GetClusterCredentials')
  async getClusterCredentials(r: registryV1.GetClusterCredentialsRequest, metadata?: Metadata): Promise<registryV1.ClusterCredentials> {
    this.internalToken.assert(metadata);
    const { cluster, credentials, keyId } = await this.clusters.credentials(r.name ?? '');
    return { name: cluster.metadata.name, uid: cluster.metadata.uid ?? '', kubeconfig: credentials.kubeconfig ?? '', token: credentials.token ?? '', keyId };
  }
}
