import { Observable } from 'rxjs';
import { registryV1 } from '@flotilla/contracts';
import { GrpcServiceClient } from './grpc-client';

export const REGISTRY_CLIENT = Symbol('flotilla.registry-client');

/** The registry's cluster API (flotilla.registry.v1.RegistryService) for other services. */
export class RegistryClient {
  private readonly grpc: GrpcServiceClient<registryV1.RegistryServiceClient>;

  constructor(target: string, internalToken?: string, deadlineMs = 10_000) {
    this.grpc = new GrpcServiceClient(
      target,
      { package: registryV1.PROTOBUF_PACKAGE, protoFile: registryV1.PROTO_FILE, service: registryV1.REGISTRY_SERVICE_NAME },
      { internalToken, deadlineMs, upstream: 'registry' },
    );
  }

  private get s(): registryV1.RegistryServiceClient {
    return this.grpc.service;
  }

  getCluster(r: registryV1.GetClusterRequest) {
    return this.grpc.unary(this.s.getCluster, r);
  }
  listClusters(r: registryV1.ListClustersRequest) {
    return this.grpc.unary(this.s.listClusters, r);
  }
  createCluster(r: registryV1.CreateClusterRequest) {
    return this.grpc.unary(this.s.createCluster, r);
  }
  updateCluster(r: registryV1.UpdateClusterRequest) {
    return this.grpc.unary(this.s.updateCluster, r);
  }
  patchCluster(r: registryV1.PatchClusterRequest) {
    return this.grpc.unary(this.s.patchCluster, r);
  }
  deleteCluster(r: registryV1.DeleteClusterRequest) {
    return this.grpc.unary(this.s.deleteCluster, r);
  }
  updateClusterStatus(r: registryV1.UpdateClusterStatusRequest) {
    return this.grpc.unary(this.s.updateClusterStatus, r);
  }
  /** Decrypted credentials: sent with the internal token. */
  getClusterCredentials(r: registryV1.GetClusterCredentialsRequest) {
    return this.grpc.unary(this.s.getClusterCredentials, r, true);
  }

  /** Last probe times (health-probe): sent with the internal token. */
  recordProbeTimes(r: registryV1.RecordProbeTimesRequest) {
    return this.grpc.unary(this.s.recordProbeTimes, r, true);
  }

  watchClusters(r: registryV1.WatchClustersRequest): Observable<registryV1.WatchEvent> {
    return this.grpc.stream(this.s.watchClusters, r);
  }

  close(): void {
    this.grpc.close();
  }
}
