import type { ClusterEvent } from '@flotilla/domain';
import { clusterEventFromProto, clusterEventToProto, eventsV1 } from '@flotilla/contracts';
import { GrpcServiceClient } from './grpc-client';

export const CLUSTER_EVENTS_CLIENT = Symbol('flotilla.clients.cluster-events');

/** The registry's cluster events (flotilla.registry.events.v1): health-probe records, the gateway lists. */
export class ClusterEventsClient {
  private readonly grpc: GrpcServiceClient<eventsV1.ClusterEventServiceClient>;

  constructor(target: string, internalToken?: string, deadlineMs = 10_000) {
    this.grpc = new GrpcServiceClient(
      target,
      { package: eventsV1.PROTOBUF_PACKAGE, protoFile: eventsV1.PROTO_FILE, service: eventsV1.CLUSTEREVENT_SERVICE_NAME },
      { internalToken, deadlineMs, upstream: 'registry' },
    );
  }

  async record(event: ClusterEvent): Promise<ClusterEvent> {
    return clusterEventFromProto(await this.grpc.unary(this.grpc.service.recordClusterEvent, { event: clusterEventToProto(event) }, true));
  }

  /** The cluster's events, newest first: at most `limit` (default and maximum 500). */
  async list(clusterName: string, limit?: number): Promise<ClusterEvent[]> {
    const out = await this.grpc.unary(this.grpc.service.listClusterEvents, { clusterName, limit: limit ?? 0 }, true);
    return (out.items ?? []).map(clusterEventFromProto);
  }

  close(): void {
    this.grpc.close();
  }
}
