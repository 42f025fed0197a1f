import { Observable, Subscription, concatMap } from 'rxjs';
import type { ClusterEventBatch, ClusterEventsClient, ObjectChange, ObjectStore } from '@flotilla/clients';
import { type ClusterEvent, ErrorReason, FEDERATION_EVENT_RESOURCE, FlotillaError } from '@flotilla/domain';
import type { ChangeFeed, FeedEvent } from '../resources/change-feed';
import { type EventListQuery, type EventSelector, type EventsApi, type EventsVersion, eventMatches, formatEventsVersion, parseEventsVersion } from './event-query';
import { type Json, clusterEventAsCore, coreToEventsV1, federationEventAsCore, storedEventObject } from './kube-events';

/** A WatchEvent as kube-apiserver streams it (newline-delimited JSON). */
export interface EventWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: Json;
}

/** What one watch of events is: parsed and checked before the stream starts (a bad query is a plain 400). */
export interface EventsWatchPlan {
  api: EventsApi;
  /** Only this namespace's events ('' : every namespace). */
  namespace: string;
  selector: EventSelector;
  /** The selectors as given, for the first listing. */
  query: Pick<EventListQuery, 'fieldSelector' | 'labelSelector'>;
  /** Resume after this version; undefined ('' or '0'): the current events as ADDED first, as kube-apiserver does. */
  from?: EventsVersion;
  /** Whether cluster events can match (namespace "default", involvedObject.kind unset or Cluster). */
  clusters: boolean;
  /** Only this cluster's events (the selector pins involvedObject.name). */
  clusterName?: string;
  /** Whether federated objects' events can match. */
  federation: boolean;
  /** allowWatchBookmarks: a BOOKMARK every bookmarkMs. */
  bookmarks: boolean;
  bookmarkMs: number;
  /** The user the gateway watches for (the registry counts its streams per user). */
  caller: string;
}

export interface EventsWatchSources {
  events: Pick<ClusterEventsClient, 'watch'>;
  feed: ChangeFeed;
  store: Pick<ObjectStore, 'changes'>;
  /** The Cluster's metadata.uid for a cluster event; undefined: the event is not shown (its cluster is gone, as in a list). */
  clusterUid(e: ClusterEvent): Promise<string | undefined>;
  /** One page of the list, as GET answers it (the plan's shape, selectors applied). */
  list(q: EventListQuery): Promise<Json>;
}

/** Events per page of the first listing: small, so the client's socket drains between pages. */
const FIRST_LIST_PAGE = '500';
/** Federation changes held while a watch catches up from the store's change log. */
const MAX_HELD_CHANGES = 10_000;
const CATCH_UP_PAGE = 1000;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One watch of events (core/v1 or events.k8s.io/v1), merged from the two places events live,
 * never polled:
 * - cluster events: the registry's WatchClusterEvents stream (pushed by LISTEN/NOTIFY at commit),
 *   from the version's cluster part; each is ADDED (the registry never changes an event);
 * - federated objects' events: the gateway's object change feed (WatchObjectChanges, ADR 0036)
 *   filtered to the events resource, after the store's change log fills the gap from the
 *   version's object part (ADDED, MODIFIED when federation-sync bumps a count, DELETED).
 * Every event's metadata.resourceVersion is the combined version after it, so a client resumes
 * from any event it saw (or a BOOKMARK) and misses nothing. A version older than what is kept
 * ends the watch with 410 Expired: list again.
 */
export function watchEvents(plan: EventsWatchPlan, sources: EventsWatchSources): Observable<EventWatchEvent> {
  return new Observable<EventWatchEvent>((out) => {
    let closed = false;
    const subscriptions: Subscription[] = [];
    const teardown: (() => void)[] = [];
    let position: EventsVersion = { cluster: '0', object: '0' };
    const version = () => formatEventsVersion(position);
    const fail = (error: unknown) => {
      if (closed) return;
      closed = true;
      out.error(error);
    };
    const finish = () => {
      if (closed) return;
      closed = true;
      out.complete();
    };
    /** Sends an event (core/v1 shape) that matches, in the plan's shape, at the current version. */
    const emit = (type: EventWatchEvent['type'], core: Json) => {
      if (closed || !eventMatches(plan.selector, core)) return;
      out.next({ type, object: withVersion(plan.api === 'core' ? core : coreToEventsV1(core), version()) });
    };

    const followClusters = () => {
      const sub = sources.events
        .watch({ since: position.cluster, ...(plan.clusterName ? { clusterName: plan.clusterName } : {}), onBehalfOf: plan.caller })
        .pipe(
          concatMap(async (batch: ClusterEventBatch) => ({
            batch,
            cores: await Promise.all(
              batch.events.map(async (e) => {
                const uid = await sources.clusterUid(e);
                return uid === undefined ? undefined : clusterEventAsCore(e, uid);
              }),
            ),
          })),
        )
        .subscribe({
          next: ({ batch, cores }) => {
            batch.events.forEach((e, i) => {
              position = { ...position, cluster: e.resourceVersion ?? position.cluster };
              if (cores[i]) emit('ADDED', cores[i]);
            });
            position = { ...position, cluster: batch.version };
          },
          error: fail,
          // The registry ended the stream (idle end, shutdown): the client watches again from the last version it got.
          complete: finish,
        });
      subscriptions.push(sub);
    };

    const followFederation = () => {
      let last = BigInt(position.object);
      let live = false;
      let held: ObjectChange[] = [];
      let syncs = 0;
      const apply = (change: ObjectChange) => {
        const revision = BigInt(change.revision);
        if (revision <= last) return;
        last = revision;
        position = { ...position, object: change.revision };
        if (change.object.resource !== FEDERATION_EVENT_RESOURCE) return;
        const core = federationEventAsCore(storedEventObject(change.object));
        const namespace = isObject(core.metadata) ? core.metadata.namespace : undefined;
        if (plan.namespace !== '' && namespace !== plan.namespace) return;
        emit(change.type, core);
      };
      const moveTo = (revision: string) => {
        if (BigInt(revision) <= last) return;
        last = BigInt(revision);
        position = { ...position, object: revision };
      };
      /** The store's changes after the version up to the feed's listing, then the changes held meanwhile. */
      const catchUp = async (syncRevision: bigint) => {
        while (last < syncRevision) {
          const page = await sources.store.changes(last.toString(), { resources: [FEDERATION_EVENT_RESOURCE], limit: CATCH_UP_PAGE });
          if (closed) return;
          for (const change of page.changes) apply(change);
          if (page.changes.length < CATCH_UP_PAGE) {
            // Every change of the resource up to the store's revision is in the page.
            moveTo(page.revision);
            break;
          }
        }
        const waiting = held;
        held = [];
        for (const change of waiting) apply(change);
        live = true;
      };
      const onFeed = (event: FeedEvent) => {
        if (closed) return;
        if (event.type === 'SYNC') {
          // The feed listed again (it fell behind the change log): what this watch sent may be stale.
          if (++syncs > 1) return fail(new FlotillaError(ErrorReason.Gone, 'too old resource version: the gateway had to relist; list again and watch from the list\'s resourceVersion'));
          catchUp(BigInt(event.revision)).catch(fail);
          return;
        }
        if (!live) {
          held.push(event.change);
          if (held.length > MAX_HELD_CHANGES) fail(new FlotillaError(ErrorReason.Gone, 'too old resource version: too many changes since it; list again'));
          return;
        }
        apply(event.change);
      };
      teardown.push(sources.feed.follow([FEDERATION_EVENT_RESOURCE], onFeed));
    };

    const start = async () => {
      let from = plan.from;
      if (!from) {
        // kube-apiserver: without a resourceVersion (or "0") a watch starts with the current objects as ADDED.
        let token: string | undefined;
        do {
          const page = await sources.list({ ...plan.query, limit: FIRST_LIST_PAGE, ...(token ? { continue: token } : {}) });
          if (closed) return;
          const meta = isObject(page.metadata) ? page.metadata : {};
          from ??= parseEventsVersion(String(meta.resourceVersion ?? ''));
          for (const item of Array.isArray(page.items) ? (page.items as Json[]) : []) if (!closed) out.next({ type: 'ADDED', object: withVersion(item, formatEventsVersion(from!)) });
          token = typeof meta.continue === 'string' && meta.continue !== '' ? meta.continue : undefined;
        } while (token && !closed);
        if (!from) throw new FlotillaError(ErrorReason.InternalError, 'the events list answered no resourceVersion');
      }
      if (closed) return;
      position = from;
      if (plan.clusters) followClusters();
      if (plan.federation) followFederation();
      if (plan.bookmarks) {
        const timer = setInterval(() => {
          if (!closed) out.next({ type: 'BOOKMARK', object: { apiVersion: plan.api === 'core' ? 'v1' : 'events.k8s.io/v1', kind: 'Event', metadata: { resourceVersion: version() } } });
        }, plan.bookmarkMs);
        timer.unref();
        teardown.push(() => clearInterval(timer));
      }
    };
    start().catch(fail);
    return () => {
      closed = true;
      for (const s of subscriptions) s.unsubscribe();
      for (const t of teardown) t();
    };
  });
}

function withVersion(event: Json, resourceVersion: string): Json {
  return { ...event, metadata: { ...(isObject(event.metadata) ? event.metadata : {}), resourceVersion } };
}
