import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { ClusterEvent } from '@flotilla/domain';
import { RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import { ChangeListener, NotifyChannel } from '../infrastructure/change-listener';
import { SequenceHub, SequenceHubTuning } from '../infrastructure/sequence-hub';
import { CHANGE_LISTENER } from '../infrastructure/tokens';
import { ClusterEventsService } from './cluster-events.service';

export const CLUSTER_EVENT_WATCH_TUNING = Symbol('registry.cluster-event-watch-tuning');
/** pollMs: the safety-net re-read; bookmarkMs: an idle stream's empty batch at its version. */
export type ClusterEventWatchTuning = SequenceHubTuning;

/** What a stream receives: events oldest first, and the version everything up to which is sent. */
export interface ClusterEventBatch {
  events: ClusterEvent[];
  version: string;
}

/** Events read per query: a batch of them stays far below gRPC's 4 MiB (an event is at most a few KiB). */
const PAGE = 200;

const sequenceOf = (e: ClusterEvent): bigint => BigInt(e.resourceVersion!);

/**
 * Pushes recorded cluster events to WatchClusterEvents streams with the object change stream's
 * design (ADR 0036), through the registry's SequenceHub: one reader per replica follows the
 * cluster_events table by sequence (woken by each commit's NOTIFY and a timer), streams catch up
 * on their own then join its fan-out, filtered by cluster. A stream gets its first batch at once
 * (possibly empty), then only batches holding some of its events, and bookmarks. Events pruned
 * before a stream read them are simply not sent (they are gone for a list too); a start older
 * than what is kept is refused with Gone (ClusterEventsService.watchStart).
 */
@Injectable()
export class ClusterEventHub implements OnApplicationBootstrap {
  private readonly hub: SequenceHub<ClusterEvent, string, ClusterEventBatch>;

  constructor(
    events: ClusterEventsService,
    @Inject(CHANGE_LISTENER) listener: ChangeListener,
    @Inject(RUNTIME) runtime: ServiceRuntime,
    @Inject(CLUSTER_EVENT_WATCH_TUNING) tuning: ClusterEventWatchTuning,
  ) {
    const source = {
      head: async () => BigInt(await events.head()),
      // Every cluster's events (filtered by the hub): a short page read after the reader's position covers it all.
      page: async (after: string, limit: number) => {
        const items = await events.after(BigInt(after), limit);
        return { items, reached: items.length > 0 ? sequenceOf(items[items.length - 1]!) : BigInt(after) };
      },
      start: (since: string) => events.watchStart(since),
      position: sequenceOf,
      matches: (e: ClusterEvent, cluster: string) => e.clusterName === cluster,
    };
    this.hub = new SequenceHub(source, listener, runtime, tuning, {
      channel: NotifyChannel.clusterEvents,
      drain: 'cluster-event-watchers',
      gauge: { name: 'flotilla_registry_cluster_event_watchers', help: 'Open WatchClusterEvents streams on this registry replica' },
      catchUpPage: PAGE,
      readPage: PAGE,
      sendEmpty: false,
      batch: (batchEvents, version) => ({ events: batchEvents, version: version.toString() }),
      readerFailed: 'cluster event reader failed; retried at the next signal',
      shuttingDown: 'the registry is shutting down: watch again from the last version received',
    });
  }

  onApplicationBootstrap(): Promise<void> {
    return this.hub.start();
  }

  get watcherCount(): number {
    return this.hub.watcherCount;
  }

  /**
   * Events recorded after `since` ('' : from now) of one cluster (all when empty), as they commit:
   * first a batch at once (possibly empty: the stream stands at its version), then one per read
   * that found some of its events, and bookmarks when idle. Gone / Timeout / BadRequest as
   * ClusterEventsService.watchStart. `ready` resolves when the consumer has room.
   */
  watch(since: string, cluster: string, ready: () => Promise<void> = () => Promise.resolve()): Observable<ClusterEventBatch> {
    return this.hub.watch(since, cluster || undefined, ready);
  }
}
