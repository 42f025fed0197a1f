import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { ObjectChange, ObjectChangePage } from '@flotilla/clients';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import { ChangeListener, NotifyChannel } from '../infrastructure/change-listener';
import { SequenceHub, SequenceHubTuning } from '../infrastructure/sequence-hub';
import { CHANGE_LISTENER } from '../infrastructure/tokens';
import { CHANGES_DEFAULT_LIMIT, CHANGES_MAX_LIMIT } from './object-rules';
import { ObjectsService } from './objects.service';

export const OBJECT_WATCH_TUNING = Symbol('registry.object-watch-tuning');
/** pollMs: the safety-net re-read of the change log; bookmarkMs: an idle stream's empty batch at its revision. */
export type ObjectWatchTuning = SequenceHubTuning;

/**
 * Pushes committed object changes to WatchObjectChanges streams (ADR 0036) through the registry's
 * SequenceHub: one reader per replica follows the change log (woken by each commit's NOTIFY and a
 * timer), streams catch up on their own then join its fan-out, filtered by resource. Every read
 * sends each stream a batch, even empty: the stream's revision is exact, so a writer waiting for
 * its own revision (the gateway's caughtUp) is answered whatever resource it wrote. A Gone from the
 * reader ends the live streams (they list again); `since` is validated by changesSince.
 */
@Injectable()
export class ObjectChangeHub implements OnApplicationBootstrap {
  private readonly hub: SequenceHub<ObjectChange, ReadonlySet<string>, ObjectChangePage>;

  constructor(
    objects: ObjectsService,
    @Inject(CHANGE_LISTENER) listener: ChangeListener,
    @Inject(RUNTIME) runtime: ServiceRuntime,
    @Inject(OBJECT_WATCH_TUNING) tuning: ObjectWatchTuning,
  ) {
    const source = {
      head: async () => BigInt(await objects.headRevision()),
      page: async (after: string, limit: number, resources: ReadonlySet<string> | undefined) => {
        const page = await objects.changesSince(after, { resources: resources ? [...resources] : [], limit });
        return { items: page.changes, reached: BigInt(page.revision) };
      },
      position: (change: ObjectChange) => BigInt(change.revision),
      matches: (change: ObjectChange, resources: ReadonlySet<string>) => resources.has(change.object.resource),
    };
    this.hub = new SequenceHub(source, listener, runtime, tuning, {
      channel: NotifyChannel.objectChanges,
      drain: 'object-watchers',
      gauge: { name: 'flotilla_registry_object_watchers', help: 'Open WatchObjectChanges streams on this registry replica' },
      catchUpPage: CHANGES_DEFAULT_LIMIT,
      readPage: CHANGES_MAX_LIMIT,
      sendEmpty: true,
      batch: (changes, revision) => ({ changes, revision: revision.toString() }),
      readerFailed: 'object change reader failed',
      endsLiveStreams: (error) => error instanceof FlotillaError && error.reason === ErrorReason.Gone,
      shuttingDown: 'the registry is shutting down: watch again from the last revision received',
    });
  }

  onApplicationBootstrap(): Promise<void> {
    return this.hub.start();
  }

  get watcherCount(): number {
    return this.hub.watcherCount;
  }

  /**
   * The changes after `since` of `resources` (all when empty), as they commit: every page the
   * catch-up reads (the first even when empty: the stream stands at its revision), then a batch
   * per read of the log (empty when none of its resources changed), and bookmarks when idle. Gone/BadRequest as changesSince.
   * `ready` resolves when the consumer has room (the catch-up waits on it between pages).
   */
  watch(since: string, resources: readonly string[], ready: () => Promise<void> = () => Promise.resolve()): Observable<ObjectChangePage> {
    return this.hub.watch(since, resources.length > 0 ? new Set(resources) : undefined, ready);
  }
}
