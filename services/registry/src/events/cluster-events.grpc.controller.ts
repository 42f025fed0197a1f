import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { clusterEventFromProto, clusterEventToProto, eventsV1 } from '@flotilla/contracts';
import { ClusterEventsService } from './cluster-events.service';

const S = eventsV1.CLUSTEREVENT_SERVICE_NAME;

/** flotilla.registry.events.v1.ClusterEventService: maps messages in and out. */
@Controller()
export class ClusterEventsGrpcController implements eventsV1.ClusterEventServiceController {
  constructor(private readonly events: ClusterEventsService) {}

  @GrpcMethod(S, 'RecordClusterEvent')
  async recordClusterEvent(r: eventsV1.RecordClusterEventRequest): Promise<eventsV1.ClusterEvent> {
    return clusterEventToProto(await this.events.record(clusterEventFromProto(r.event ?? {})));
  }

  @GrpcMethod(S, 'ListClusterEvents')
  async listClusterEvents(r: eventsV1.ListClusterEventsRequest): Promise<eventsV1.ClusterEventList> {
    return { items: (await this.events.list(r.clusterName ?? '', r.limit || undefined)).map(clusterEventToProto) };
  }
}
