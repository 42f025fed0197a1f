import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata } from '@grpc/grpc-js';
import { Observable, map, throwError } from 'rxjs';
import { clusterEventFromProto, clusterEventToProto, eventsV1 } from '@flotilla/contracts';
import { callerIdentityOf } from '@flotilla/service-kit';
import { WritableCall, writeBounded } from '../clusters/bounded-call';
import { CallerStreams, WATCH_LIMITS, WatchLimits, watchCaller } from '../clusters/watch-limits';
import { ClusterEventBatch, ClusterEventHub } from './cluster-event-hub';
import { ClusterEventsService } from './cluster-events.service';

const S = eventsV1.CLUSTEREVENT_SERVICE_NAME;
/** Batches (of up to 200 events of a few KiB) a stream may hold unsent, at most. */
const MAX_BUFFERED_BATCHES = 64;

const batchToProto = (b: ClusterEventBatch): eventsV1.ClusterEventBatch => ({ events: b.events.map(clusterEventToProto), version: b.version });

/** flotilla.registry.events.v1.ClusterEventService: maps messages in and out. */
@Controller()
export class ClusterEventsGrpcController implements eventsV1.ClusterEventServiceController {
  /** Open WatchClusterEvents streams per caller: the registry's watch limit, counted apart from the other watches. */
  private readonly callers: CallerStreams;

  constructor(
    private readonly events: ClusterEventsService,
    private readonly hub: ClusterEventHub,
    @Inject(WATCH_LIMITS) private readonly limits: WatchLimits,
  ) {
    this.callers = new CallerStreams(limits.maxPerCaller);
  }

  @GrpcMethod(S, 'RecordClusterEvent')
  async recordClusterEvent(r: eventsV1.RecordClusterEventRequest): Promise<eventsV1.ClusterEvent> {
    return clusterEventToProto(await this.events.record(clusterEventFromProto(r.event ?? {})));
  }

  @GrpcMethod(S, 'ListClusterEvents')
  async listClusterEvents(r: eventsV1.ListClusterEventsRequest): Promise<eventsV1.ClusterEventList> {
    const listed = await this.events.list(r.clusterName ?? '', r.limit || undefined);
    return { items: listed.items.map(clusterEventToProto), version: listed.version };
  }

  /**
   * Events pushed as they are recorded. Bounded as WatchClusters is: a slot per caller (the
   * gateway's per user it names, FLOTILLA_MAX_WATCHES_PER_CALLER), an idle end, and a bound on
   * what waits unsent.
   */
  @GrpcMethod(S, 'WatchClusterEvents')
  watchClusterEvents(r: eventsV1.WatchClusterEventsRequest, metadata?: Metadata, call?: WritableCall<eventsV1.ClusterEventBatch>): Observable<eventsV1.ClusterEventBatch> {
    let release: () => void;
    try {
      release = this.callers.acquire(watchCaller(callerIdentityOf(metadata), r.onBehalfOf || undefined));
    } catch (error) {
      return throwError(() => error);
    }
    const batches = (ready?: () => Promise<void>) => this.hub.watch(r.since ?? '', r.clusterName ?? '', ready).pipe(map(batchToProto));
    if (!call) {
      // Called in-process (no gRPC call to write to): the slot is held while subscribed.
      return new Observable<eventsV1.ClusterEventBatch>((out) => {
        const sub = batches().subscribe(out);
        return () => {
          sub.unsubscribe();
          release();
        };
      });
    }
    return writeBounded(call, batches, { maxBuffered: Math.min(this.limits.maxBuffered, MAX_BUFFERED_BATCHES), idleMs: this.limits.idleMs, onEnd: release });
  }
}
