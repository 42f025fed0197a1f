import { Metadata } from '@grpc/grpc-js';
import { ClientGrpcProxy } from '@nestjs/microservices';
import { Observable, lastValueFrom } from 'rxjs';
import type { ClusterEvent } from '@flotilla/domain';
import { PROTO_LOADER_OPTIONS, clusterEventFromProto, clusterEventToProto, eventsV1, fromGrpcError, protoPath, protoRoot } from '@flotilla/contracts';
import { REQUEST_ID_HEADER, currentRequestId } from '@flotilla/observability';

export const CLUSTER_EVENTS_CLIENT = Symbol('flotilla.cluster-events-client');

type Unary<Req, Res> = (request: Req, metadata: Metadata, options: { deadline: number }) => Observable<Res>;

/** The registry's cluster events (flotilla.registry.events.v1): health-probe records, the gateway lists. */
export class ClusterEventsClient {
  private readonly proxy: ClientGrpcProxy;
  private readonly service: eventsV1.ClusterEventServiceClient;

  constructor(
    target: string,
    private readonly internalToken?: string,
    private readonly deadlineMs = 10_000,
  ) {
    this.proxy = new ClientGrpcProxy({
      url: target,
      package: eventsV1.PROTOBUF_PACKAGE,
      protoPath: protoPath(eventsV1.PROTO_FILE),
      loader: { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot()] },
    } as ConstructorParameters<typeof ClientGrpcProxy>[0]);
    this.service = this.proxy.getService<eventsV1.ClusterEventServiceClient>(eventsV1.CLUSTEREVENT_SERVICE_NAME);
  }

  private metadata(): Metadata {
    const m = new Metadata();
    const requestId = currentRequestId();
    if (requestId) m.set(REQUEST_ID_HEADER, requestId);
    if (this.internalToken) m.set('authorization', `Bearer ${this.internalToken}`);
    return m;
  }

  private async call<Req, Res>(method: unknown, request: Req): Promise<Res> {
    try {
      return await lastValueFrom((method as Unary<Req, Res>).call(this.service, request, this.metadata(), { deadline: Date.now() + this.deadlineMs }));
    } catch (error) {
      throw fromGrpcError(error, 'registry');
    }
  }

  async record(event: ClusterEvent): Promise<ClusterEvent> {
    return clusterEventFromProto(await this.call<eventsV1.RecordClusterEventRequest, eventsV1.ClusterEvent>(this.service.recordClusterEvent, { event: clusterEventToProto(event) }));
  }

  async list(clusterName: string, limit?: number): Promise<ClusterEvent[]> {
    const out = await this.call<eventsV1.ListClusterEventsRequest, eventsV1.ClusterEventList>(this.service.listClusterEvents, { clusterName, limit: limit ?? 0 });
    return (out.items ?? []).map(clusterEventFromProto);
  }

  close(): void {
    this.proxy.close();
  }
}
