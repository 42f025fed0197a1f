import { Inject, Injectable, Optional } from '@nestjs/common';
import { Observable } from 'rxjs';
import { CLUSTER_EVENTS_CLIENT, ClusterEventsClient, OBJECT_STORE, ObjectStore, REGISTRY_CLIENT, RegistryClient } from '@flotilla/clients';
import { type ClusterEvent, ErrorReason, FEDERATION_EVENT_RESOURCE, FlotillaError } from '@flotilla/domain';
import { CONFIG, RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import { StreamLimiter, streamLimiterFor } from '../clusters/stream-limiter';
import { CHANGE_FEED, ChangeFeed } from '../resources/change-feed';
import { isTrue, watchTimeoutSeconds } from '../resources/query';
import {
  EventCursor,
  EventListQuery,
  EventSelector,
  EventWatchQuery,
  EventsApi,
  EventsVersion,
  decodeCursor,
  encodeCursor,
  eventLimit,
  eventMatches,
  formatEventsVersion,
  parseEventSelector,
  parseEventsVersion,
  pinned,
} from './event-query';
import { EventWatchEvent, EventsWatchPlan, watchEvents } from './events-watch';
import { CLUSTER_SCOPED_EVENTS_NAMESPACE, Json, clusterEventAsCore, coreToEventsV1, federationEventAsCore, lastSeenOf, storedEventObject as objectOf } from './kube-events';

/** Optional settings of event watches (tests shorten the bookmark interval). */
export const EVENTS_WATCH_OPTIONS = Symbol('gateway.events-watch-options');
export interface EventsWatchOptions {
  /** With allowWatchBookmarks: a BOOKMARK this often (default 60 s, as kube-apiserver about does). */
  bookmarkMs?: number;
}
/** How long a watch reuses a Cluster's uid it looked up (a cluster removed and created again gets a new one). */
const UID_CACHE_MS = 30_000;
const REVISION = /^[0-9]{1,19}$/;

/** Events in one answer without a limit; past it the answer carries metadata.continue. */
const UNLIMITED_PAGE = 5000;
/** Clusters read for one all-cluster list, at most (their names only). */
const MAX_CLUSTERS = 20_000;
/** Clusters whose events are read at the same time. */
const CONCURRENCY = 8;
/** Object-store pages read for one answer, at most (fewer events than the limit then come with metadata.continue). */
const MAX_STORE_PAGES = 20;
const STORE_PAGE = 1000;

interface ClusterRef {
  name: string;
  uid?: string;
  memberUid?: string;
}

const byTime = (a: Json, b: Json) => (lastSeenOf(a) < lastSeenOf(b) ? -1 : lastSeenOf(a) > lastSeenOf(b) ? 1 : 0);

/**
 * Flotilla's events as Kubernetes Events (core/v1 and events.k8s.io/v1), so `kubectl describe`
 * and `kubectl get events` find them: each cluster's events (health transitions, federation steps
 * on it) in namespace "default", regarding the Cluster, and the federated objects' events in their
 * namespaces. Field selectors as kube-apiserver supports them; paged with limit and continue.
 */
@Injectable()
export class EventsApiService {
  /** Per-user stream limits, idle end and unsent-bytes bound, shared with the cluster and job streams. */
  readonly streams: StreamLimiter;
  /** Ends each open watch (at shutdown: they end first, so the HTTP server can close). */
  private readonly openWatches = new Set<() => void>();
  private draining = false;

  constructor(
    @Inject(CLUSTER_EVENTS_CLIENT) private readonly events: ClusterEventsClient,
    @Inject(REGISTRY_CLIENT) private readonly registry: RegistryClient,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(CHANGE_FEED) private readonly feed: ChangeFeed,
    @Inject(CONFIG) config: object,
    @Inject(RUNTIME) runtime: ServiceRuntime,
    @Optional() @Inject(EVENTS_WATCH_OPTIONS) private readonly watchOptions: EventsWatchOptions = {},
  ) {
    this.streams = streamLimiterFor(config);
    runtime.shutdown.onDrain('event-watches', async () => {
      this.draining = true;
      for (const end of [...this.openWatches]) end();
    });
  }

  async list(api: EventsApi, namespace: string, q: EventListQuery): Promise<Json> {
    const selector = parseEventSelector(q, api);
    const limit = eventLimit(q.limit) ?? UNLIMITED_PAGE;
    const decoded = decodeCursor(q.continue);
    let cursor: EventCursor = decoded ?? { phase: 'clusters', after: '' };
    // Every page answers the first page's version, read before any event: a watch from it may
    // repeat an event listed, never miss one recorded meanwhile.
    const rv = decoded?.rv ?? formatEventsVersion(await this.currentVersion());
    const items: Json[] = [];
    let next: EventCursor | undefined;
    if (cursor.phase === 'clusters') {
      if (this.clusterEventsApply(selector, namespace)) next = await this.clusterEvents(selector, cursor.after, limit, items);
      if (!next) cursor = { phase: 'federation' };
      else if (next.phase === 'federation' && !this.federationEventsApply(selector)) next = undefined;
    }
    if (!next && cursor.phase === 'federation' && this.federationEventsApply(selector)) {
      next = (await this.federationEvents(selector, namespace, cursor.store, limit, items)).next;
    }
    return {
      apiVersion: api === 'core' ? 'v1' : 'events.k8s.io/v1',
      kind: 'EventList',
      metadata: { resourceVersion: rv, ...(next ? { continue: encodeCursor({ ...next, rv }) } : {}) },
      items: api === 'core' ? items : items.map(coreToEventsV1),
    };
  }

  /**
   * Checks a watch query (a bad one is a plain 400 before any stream starts) and plans it: which
   * of the two sources can match, and from where.
   */
  planWatch(api: EventsApi, namespace: string, q: EventWatchQuery, caller: string): { plan: EventsWatchPlan; timeoutSeconds?: number } {
    const selector = parseEventSelector(q, api);
    const from = parseEventsVersion(q.resourceVersion);
    const timeoutSeconds = watchTimeoutSeconds(q.timeoutSeconds);
    const clusters = this.clusterEventsApply(selector, namespace);
    const clusterName = pinned(selector, 'involvedObject.name');
    const plan: EventsWatchPlan = {
      api,
      namespace,
      selector,
      query: { ...(q.fieldSelector !== undefined ? { fieldSelector: q.fieldSelector } : {}), ...(q.labelSelector !== undefined ? { labelSelector: q.labelSelector } : {}) },
      ...(from ? { from } : {}),
      clusters,
      ...(clusterName ? { clusterName } : {}),
      federation: this.federationEventsApply(selector),
      bookmarks: isTrue(q.allowWatchBookmarks),
      bookmarkMs: this.watchOptions.bookmarkMs ?? 60_000,
      caller,
    };
    return { plan, ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}) };
  }

  /** The events as they happen (WatchEvents), from a plan of planWatch; they end cleanly at shutdown (the client watches again). */
  watch(plan: EventsWatchPlan): Observable<EventWatchEvent> {
    const events = this.follow(plan);
    return new Observable<EventWatchEvent>((out) => {
      if (this.draining) {
        out.error(new FlotillaError(ErrorReason.ServiceUnavailable, 'the gateway is shutting down: watch again on another replica', { retryAfterSeconds: 1 }));
        return undefined;
      }
      const end = () => out.complete();
      this.openWatches.add(end);
      const sub = events.subscribe(out);
      return () => {
        this.openWatches.delete(end);
        sub.unsubscribe();
      };
    });
  }

  private follow(plan: EventsWatchPlan): Observable<EventWatchEvent> {
    const refs = new Map<string, ClusterRef & { at: number }>();
    return watchEvents(plan, {
      events: this.events,
      feed: this.feed,
      store: this.store,
      list: (q) => this.list(plan.api, plan.namespace, q),
      // As list: every cluster's events are those of the clusters there are; a named one's, all of them.
      clusterUid: async (e: ClusterEvent) => {
        let ref = refs.get(e.clusterName);
        if (!ref || ref.at <= Date.now() - UID_CACHE_MS) {
          ref = { ...(await this.clusterRef(e.clusterName)), at: Date.now() };
          // Only a cluster found is remembered: one created a moment later shows its first events.
          if (ref.uid !== undefined) refs.set(e.clusterName, ref);
        }
        if (ref.uid === undefined && plan.clusterName === undefined) return undefined;
        return uidFor(ref, e.clusterUid);
      },
    });
  }

  /** Where both sources of events stand now (read before the events a list returns). */
  private async currentVersion(): Promise<EventsVersion> {
    const [cluster, listed] = await Promise.all([this.events.version(), this.store.list(FEDERATION_EVENT_RESOURCE, { limit: 1 })]);
    return { cluster: REVISION.test(cluster) ? cluster : '0', object: REVISION.test(listed.revision) ? listed.revision : '0' };
  }

  async get(api: EventsApi, namespace: string, name: string): Promise<Json> {
    const notFound = () => new FlotillaError(ErrorReason.NotFound, `${api === 'core' ? 'events' : 'events.events.k8s.io'} "${name}" not found`, { name, group: api === 'core' ? '' : 'events.k8s.io', kind: 'events' });
    let found: Json | undefined;
    const dot = name.indexOf('.');
    if (namespace === CLUSTER_SCOPED_EVENTS_NAMESPACE && dot > 0) {
      const cluster = await this.clusterRef(name.slice(0, dot));
      const event = (await this.events.list(cluster.name)).find((e) => e.name === name);
      if (event) found = clusterEventAsCore(event, uidFor(cluster, event.clusterUid));
    }
    if (!found) {
      try {
        found = federationEventAsCore(objectOf(await this.store.get(FEDERATION_EVENT_RESOURCE, name, namespace)));
      } catch (error) {
        if (!(error instanceof FlotillaError && error.reason === ErrorReason.NotFound)) throw error;
      }
    }
    if (!found) throw notFound();
    return api === 'core' ? found : coreToEventsV1(found);
  }

  private clusterEventsApply(s: EventSelector, namespace: string): boolean {
    const kind = pinned(s, 'involvedObject.kind');
    const metaNamespace = pinned(s, 'metadata.namespace');
    const regardingNamespace = pinned(s, 'involvedObject.namespace');
    return (
      (namespace === '' || namespace === CLUSTER_SCOPED_EVENTS_NAMESPACE) &&
      (kind === undefined || kind === 'Cluster') &&
      (metaNamespace === undefined || metaNamespace === CLUSTER_SCOPED_EVENTS_NAMESPACE) &&
      (regardingNamespace === undefined || regardingNamespace === '')
    );
  }

  private federationEventsApply(s: EventSelector): boolean {
    return pinned(s, 'involvedObject.kind') !== 'Cluster';
  }

  /** Reads clusters' events (by name, after `after`) into `items`; the cursor to go on from when the page is full. */
  private async clusterEvents(selector: EventSelector, after: string, limit: number, items: Json[]): Promise<EventCursor | undefined> {
    const name = pinned(selector, 'involvedObject.name');
    const clusters = name !== undefined ? (name > after ? [await this.clusterRef(name)] : []) : await this.clusterRefs(after);
    for (let i = 0; i < clusters.length; i += CONCURRENCY) {
      const batch = clusters.slice(i, i + CONCURRENCY);
      const lists = await Promise.all(batch.map(async (c) => (await this.events.list(c.name)).map((e) => clusterEventAsCore(e, uidFor(c, e.clusterUid)))));
      for (const list of lists) items.push(...list.filter((e) => eventMatches(selector, e)).sort(byTime));
      if (items.length >= limit) return i + CONCURRENCY < clusters.length ? { phase: 'clusters', after: batch[batch.length - 1]!.name } : { phase: 'federation' };
    }
    return undefined;
  }

  /** One cluster's names and uids (events of a cluster removed since keep their own uid). */
  private async clusterRef(name: string): Promise<ClusterRef> {
    const cluster = await this.registry.findCluster(name);
    return { name, ...(cluster?.metadata.uid ? { uid: cluster.metadata.uid } : {}), ...(cluster?.status?.uid ? { memberUid: cluster.status.uid } : {}) };
  }

  private async clusterRefs(after: string): Promise<ClusterRef[]> {
    const refs: ClusterRef[] = [];
    for await (const page of this.registry.listAllClusters({ limit: 1000 })) {
      for (const c of page.items) {
        if (c.metadata.name > after) refs.push({ name: c.metadata.name, ...(c.metadata.uid ? { uid: c.metadata.uid } : {}), ...(c.status?.uid ? { memberUid: c.status.uid } : {}) });
      }
      if (refs.length >= MAX_CLUSTERS) break;
    }
    return refs.sort((a, b) => (a.name < b.name ? -1 : 1)).slice(0, MAX_CLUSTERS);
  }

  /** Reads the federated objects' events (one namespace, or every one) into `items`, page by page of the store. */
  private async federationEvents(selector: EventSelector, namespace: string, from: string | undefined, limit: number, items: Json[]): Promise<{ next?: EventCursor }> {
    const storeNamespace = namespace || pinned(selector, 'metadata.namespace') || pinned(selector, 'involvedObject.namespace') || undefined;
    let token = from;
    for (let page = 0; page < MAX_STORE_PAGES && items.length < limit; page++) {
      const listed = await this.store.list(FEDERATION_EVENT_RESOURCE, { limit: Math.min(STORE_PAGE, limit - items.length), ...(storeNamespace ? { namespace: storeNamespace } : {}), ...(token ? { continue: token } : {}) });
      for (const o of listed.items) {
        const event = federationEventAsCore(objectOf(o));
        if (eventMatches(selector, event)) items.push(event);
      }
      token = listed.continue;
      if (!token) return {};
    }
    return { next: { phase: 'federation', store: token } };
  }
}

/** The Cluster's metadata.uid for an event recorded with either of its uids. */
function uidFor(cluster: ClusterRef, eventUid: string): string {
  if (cluster.uid && (eventUid === cluster.uid || (cluster.memberUid && eventUid === cluster.memberUid) || eventUid === '')) return cluster.uid;
  return eventUid;
}
