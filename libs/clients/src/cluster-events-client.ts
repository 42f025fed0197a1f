import { Observable, map } from 'rxjs';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import type { ClusterEvent } from '@flotilla/domain';
import { clusterEventFromProto, clusterEventToProto, eventsV1 } from '@flotilla/contracts';
import { GrpcServiceClient } from './grpc-client';

export const CLUSTER_EVENTS_CLIENT = Symbol('flotilla.clients.cluster-events');

/** A batch of a cluster event watch: events oldest first (none in a bookmark), and where it stands. */
export interface ClusterEventBatch {
  events: ClusterEvent[];
  /** Opaque: every event up to here is sent; watch again from it. */
  version: string;
}

export interface WatchClusterEventsOptions {
  /** A version from listWithVersion, a batch or an event's resourceVersion; unset: from now. */
  since?: string;
  /** Only this cluster's events (default: every cluster's). */
  clusterName?: string;
  /** The end user the gateway watches for (the registry's per-caller limit counts them apart). */
  onBehalfOf?: string;
}

/** The registry's cluster events (flotilla.registry.events.v1): health-probe records, the gateway lists and watches. */
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
    return (await this.listWithVersion(clusterName, limit)).items;
  }

  /** The cluster's events and the version a watch starts from to get the ones recorded later. */
  async listWithVersion(clusterName: string, limit?: number): Promise<{ items: ClusterEvent[]; version: string }> {
    const out = await this.grpc.unary(this.grpc.service.listClusterEvents, { clusterName, limit: limit ?? 0 }, true);
    return { items: (out.items ?? []).map(clusterEventFromProto), version: out.version ?? '' };
  }

  /** Where the events stand now: a watch from it gets every event recorded later. */
  async version(): Promise<string> {
    return (await this.listWithVersion('', 1)).version;
  }

  /**
   * Events recorded after `since`, pushed as they commit (WatchClusterEvents): the first batch at
   * once (possibly empty), then as events come, and empty bookmarks when idle. Unsubscribing
   * cancels the stream. Errors are domain errors: Gone (list again), Timeout (a version ahead of
   * the registry), TooManyRequests / ServiceUnavailable (watch again from the last version later).
   */
  watch(options: WatchClusterEventsOptions = {}): Observable<ClusterEventBatch> {
    return this.grpc.stream(this.grpc.service.watchClusterEvents, { since: options.since ?? '', clusterName: options.clusterName ?? '', onBehalfOf: options.onBehalfOf ?? '' }).pipe(
      map((b): ClusterEventBatch => {
        if (!b.version) throw new FlotillaError(ErrorReason.InternalError, 'the registry service answered a cluster event batch without a version');
        return { events: (b.events ?? []).map(clusterEventFromProto), version: b.version };
      }),
    );
  }

  close(): void {
    this.grpc.close();
  }
}
