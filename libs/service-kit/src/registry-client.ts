import { Metadata } from '@grpc/grpc-js';
import { ClientGrpcProxy } from '@nestjs/microservices';
import { Observable, lastValueFrom } from 'rxjs';
import { PROTO_LOADER_OPTIONS, fromGrpcError, protoPath, protoRoot, registryV1 } from '@flotilla/contracts';
import { REQUEST_ID_HEADER, currentRequestId } from '@flotilla/observability';

export const REGISTRY_CLIENT = Symbol('flotilla.registry-client');

type Unary<Req, Res> = (request: Req, metadata?: Metadata, options?: { deadline: number }) => Observable<Res>;

/**
 * The registry's gRPC API for other services: request ids travel along, every call has a
 * deadline, and errors come back as the domain errors the registry threw.
 */
export class RegistryClient {
  private readonly proxy: ClientGrpcProxy;
  private readonly service: registryV1.RegistryServiceClient;

  constructor(
    target: string,
    private readonly internalToken?: string,
    private readonly deadlineMs = 10_000,
  ) {
    this.proxy = new ClientGrpcProxy({
      url: target,
      package: registryV1.PROTOBUF_PACKAGE,
      protoPath: protoPath(registryV1.PROTO_FILE),
      loader: { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot()] },
      channelOptions: { 'grpc.keepalive_time_ms': 30_000 },
    } as ConstructorParameters<typeof ClientGrpcProxy>[0]);
    this.service = this.proxy.getService<registryV1.RegistryServiceClient>(registryV1.REGISTRY_SERVICE_NAME);
  }

  private metadata(withToken = false): Metadata {
    const m = new Metadata();
    const requestId = currentRequestId();
    if (requestId) m.set(REQUEST_ID_HEADER, requestId);
    if (withToken && this.internalToken) m.set('authorization', `Bearer ${this.internalToken}`);
    return m;
  }

  private async unary<Req, Res>(method: Unary<Req, Res>, request: Req, withToken = false): Promise<Res> {
    try {
      return await lastValueFrom(method.call(this.service, request, this.metadata(withToken), { deadline: Date.now() + this.deadlineMs }));
    } catch (error) {
      throw fromGrpcError(error, 'registry');
    }
  }

  getCluster(r: registryV1.GetClusterRequest) {
    return this.unary(this.service.getCluster as Unary<typeof r, registryV1.Cluster>, r);
  }
  listClusters(r: registryV1.ListClustersRequest) {
    return this.unary(this.service.listClusters as Unary<typeof r, registryV1.ClusterList>, r);
  }
  createCluster(r: registryV1.CreateClusterRequest) {
    return this.unary(this.service.createCluster as Unary<typeof r, registryV1.Cluster>, r);
  }
  updateCluster(r: registryV1.UpdateClusterRequest) {
    return this.unary(this.service.updateCluster as Unary<typeof r, registryV1.Cluster>, r);
  }
  patchCluster(r: registryV1.PatchClusterRequest) {
    return this.unary(this.service.patchCluster as Unary<typeof r, registryV1.Cluster>, r);
  }
  deleteCluster(r: registryV1.DeleteClusterRequest) {
    return this.unary(this.service.deleteCluster as Unary<typeof r, registryV1.DeleteClusterResponse>, r);
  }
  updateClusterStatus(r: registryV1.UpdateClusterStatusRequest) {
    return this.unary(this.service.updateClusterStatus as Unary<typeof r, registryV1.Cluster>, r);
  }
  getClusterCredentials(r: registryV1.GetClusterCredentialsRequest) {
    return this.unary(this.service.getClusterCredentials as Unary<typeof r, registryV1.ClusterCredentials>, r, true);
  }

  /** A server stream of changes; unsubscribing cancels the call. Errors arrive as domain errors. */
  watchClusters(r: registryV1.WatchClustersRequest): Observable<registryV1.WatchEvent> {
    return new Observable<registryV1.WatchEvent>((subscriber) => {
      const sub = this.service.watchClusters(r, this.metadata()).subscribe({
        next: (e) => subscriber.next(e),
        error: (error: unknown) => subscriber.error(fromGrpcError(error, 'registry')),
        complete: () => subscriber.complete(),
      });
      return () => sub.unsubscribe();
    });
  }

  close(): void {
    this.proxy.close();
  }
}
