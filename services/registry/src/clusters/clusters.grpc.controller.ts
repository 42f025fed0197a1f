import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata } from '@grpc/grpc-js';
import { Observable, map, throwError } from 'rxjs';
import { writeBounded, WritableCall } from './bounded-call';
import { CallerStreams, WATCH_LIMITS, WatchLimits, watchCaller } from './watch-limits';
import { clusterFromProto, clusterToProto, registryV1, statusFromProto } from '@flotilla/contracts';
import { parseManagedFieldsJson } from '@flotilla/domain';
import { callerIdentityOf } from '@flotilla/service-kit';
import { ClusterStatusService, StatusWriteResult } from './cluster-status.service';
import { ClusterWatchService } from './cluster-watch.service';
import { credentialWriterOf } from './credential-door';
import { ClusterPage, ClustersService } from './clusters.service';

const S = registryV1.REGISTRY_SERVICE_NAME;
const asStatusResult = (r: StatusWriteResult): registryV1.UpdateClusterStatusResult =>
  'error' in r ? { name: r.name, errorReason: r.error.reason, errorMessage: r.error.message } : { name: r.name, cluster: clusterToProto(r.cluster) };
const asList = (p: ClusterPage): registryV1.ClusterList => ({
  metadata: { resourceVersion: p.resourceVersion, continue: p.continueToken ?? '', ...(p.remainingItemCount !== undefined ? { remainingItemCount: String(p.remainingItemCount) } : {}) },
  items: p.items.map((c) => clusterToProto(c)),
});

/**
 * flotilla.registry.v1.RegistryService, the cluster methods: maps messages in and out; the
 * service holds the rules. GetClusterCredentials and RecordProbeTimes are served by the
 * credentials and probe-times modules.
 */
@Controller()
export class ClustersGrpcController implements Omit<registryV1.RegistryServiceController, 'getClusterCredentials' | 'recordProbeTimes'> {
  private readonly callers: CallerStreams;

  constructor(
    private readonly clusters: ClustersService,
    private readonly statuses: ClusterStatusService,
    private readonly watcher: ClusterWatchService,
    @Inject(WATCH_LIMITS) private readonly limits: WatchLimits,
  ) {
    this.callers = new CallerStreams(limits.maxPerCaller);
  }

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
  async updateCluster(r: registryV1.UpdateClusterRequest, metadata?: Metadata): Promise<registryV1.Cluster> {
    return clusterToProto(await this.clusters.update(clusterFromProto(r.cluster ?? {}, true), r.dryRun ?? false, credentialWriterOf(callerIdentityOf(metadata))));
  }

  @GrpcMethod(S, 'PatchCluster')
  async patchCluster(r: registryV1.PatchClusterRequest, metadata?: Metadata): Promise<registryV1.Cluster> {
    const name = r.name ?? '';
    const managedFields = parseManagedFieldsJson(r.managedFieldsJson, name);
    const preconditions = { ...(managedFields !== undefined ? { managedFields } : {}), ...(r.resourceVersion ? { resourceVersion: r.resourceVersion } : {}) };
    return clusterToProto(await this.clusters.patch(name, r.patchType ?? '', r.patch ?? '', r.dryRun ?? false, credentialWriterOf(callerIdentityOf(metadata)), preconditions));
  }

  @GrpcMethod(S, 'DeleteCluster')
  async deleteCluster(r: registryV1.DeleteClusterRequest): Promise<registryV1.DeleteClusterResponse> {
    const outcome = await this.clusters.delete(r.name ?? '', { uid: r.preconditions?.uid || undefined, resourceVersion: r.preconditions?.resourceVersion || undefined }, r.dryRun ?? false);
    return { deleted: outcome.deleted, cluster: clusterToProto(outcome.cluster) };
  }

  @GrpcMethod(S, 'UpdateClusterStatus')
  async updateClusterStatus(r: registryV1.UpdateClusterStatusRequest): Promise<registryV1.Cluster> {
    return clusterToProto(await this.statuses.updateStatus(r.name ?? '', r.resourceVersion || undefined, statusFromProto(r.status)));
  }

  @GrpcMethod(S, 'UpdateClusterStatuses')
  async updateClusterStatuses(r: registryV1.UpdateClusterStatusesRequest): Promise<registryV1.UpdateClusterStatusesResponse> {
    const writes = (r.items ?? []).map((i) => ({ name: i.name ?? '', ...(i.resourceVersion ? { resourceVersion: i.resourceVersion } : {}), status: statusFromProto(i.status) }));
    return { results: (await this.statuses.updateStatuses(writes)).map(asStatusResult) };
  }

  /**
   * Bounded (issue 13): a slot per caller (FLOTILLA_MAX_WATCHES_PER_CALLER), an idle end, and a
   * bound on what waits unsent; written to the call here, not by NestJS's unbounded writer.
   */
  @GrpcMethod(S, 'WatchClusters')
  watchClusters(r: registryV1.WatchClustersRequest, metadata?: Metadata, call?: WritableCall<registryV1.WatchEvent>): Observable<registryV1.WatchEvent> {
    let release: () => void;
    try {
      release = this.callers.acquire(watchCaller(callerIdentityOf(metadata), r.onBehalfOf || undefined));
    } catch (error) {
      return throwError(() => error);
    }
    const events = (ready?: () => Promise<void>) =>
      this.watcher
        .watch({
          resourceVersion: r.resourceVersion,
          labelSelector: r.labelSelector,
          fieldSelector: r.fieldSelector,
          allowBookmarks: r.allowBookmarks,
          importJobChanges: r.importJobChanges,
          ready,
        })
        .pipe(map((e): registryV1.WatchEvent => ({ type: e.type, object: clusterToProto(e.object), ...(e.importJob !== undefined ? { importJob: e.importJob } : {}) })));
    if (!call) {
      // Called in-process (no gRPC call to write to): the slot is held while subscribed.
      return new Observable<registryV1.WatchEvent>((out) => {
        const sub = events().subscribe(out);
        return () => {
          sub.unsubscribe();
          release();
        };
      });
    }
    return writeBounded(call, events, { maxBuffered: this.limits.maxBuffered, idleMs: this.limits.idleMs, onEnd: release });
  }
}
