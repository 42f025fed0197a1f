import { Inject, Injectable } from '@nestjs/common';
import { CLUSTER_EVENTS_CLIENT, ClusterEventsClient, OBJECT_STORE, ObjectStore, REGISTRY_CLIENT, RegistryClient } from '@flotilla/clients';
import { ErrorReason, FEDERATION_EVENT_RESOURCE, FlotillaError } from '@flotilla/domain';
import { EventCursor, EventListQuery, EventSelector, EventsApi, decodeCursor, encodeCursor, eventLimit, eventMatches, parseEventSelector, pinned } from './event-query';
import { CLUSTER_SCOPED_EVENTS_NAMESPACE, Json, clusterEventAsCore, coreToEventsV1, federationEventAsCore, lastSeenOf } from './kube-events';

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
  constructor(
    @Inject(CLUSTER_EVENTS_CLIENT) private readonly events: ClusterEventsClient,
    @Inject(REGISTRY_CLIENT) private readonly registry: RegistryClient,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
  ) {}

  async list(api: EventsApi, namespace: string, q: EventListQuery): Promise<Json> {
    const selector = parseEventSelector(q, api);
    const limit = eventLimit(q.limit) ?? UNLIMITED_PAGE;
    let cursor: EventCursor = decodeCursor(q.continue) ?? { phase: 'clusters', after: '' };
    const items: Json[] = [];
    let next: EventCursor | undefined;
    let revision = '0';
    if (cursor.phase === 'clusters') {
      if (this.clusterEventsApply(selector, namespace)) next = await this.clusterEvents(selector, cursor.after, limit, items);
      if (!next) cursor = { phase: 'federation' };
      else if (next.phase === 'federation' && !this.federationEventsApply(selector)) next = undefined;
    }
    if (!next && cursor.phase === 'federation' && this.federationEventsApply(selector)) {
      const read = await this.federationEvents(selector, namespace, cursor.store, limit, items);
      next = read.next;
      revision = read.revision;
    }
    return {
      apiVersion: api === 'core' ? 'v1' : 'events.k8s.io/v1',
      kind: 'EventList',
      metadata: { resourceVersion: revision, ...(next ? { continue: encodeCursor(next) } : {}) },
      items: api === 'core' ? items : items.map(coreToEventsV1),
    };
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
  private async federationEvents(selector: EventSelector, namespace: string, from: string | undefined, limit: number, items: Json[]): Promise<{ next?: EventCursor; revision: string }> {
    const storeNamespace = namespace || pinned(selector, 'metadata.namespace') || pinned(selector, 'involvedObject.namespace') || undefined;
    let token = from;
    let revision = '0';
    for (let page = 0; page < MAX_STORE_PAGES && items.length < limit; page++) {
      const listed = await this.store.list(FEDERATION_EVENT_RESOURCE, { limit: Math.min(STORE_PAGE, limit - items.length), ...(storeNamespace ? { namespace: storeNamespace } : {}), ...(token ? { continue: token } : {}) });
      if (page === 0) revision = listed.revision;
      for (const o of listed.items) {
        const event = federationEventAsCore(objectOf(o));
        if (eventMatches(selector, event)) items.push(event);
      }
      token = listed.continue;
      if (!token) return { revision };
    }
    return { next: { phase: 'federation', store: token }, revision };
  }
}

/** The Cluster's metadata.uid for an event recorded with either of its uids. */
function uidFor(cluster: ClusterRef, eventUid: string): string {
  if (cluster.uid && (eventUid === cluster.uid || (cluster.memberUid && eventUid === cluster.memberUid) || eventUid === '')) return cluster.uid;
  return eventUid;
}

function objectOf(stored: { object: Json; name: string; namespace?: string; resourceVersion: string }): Json {
  const meta = typeof stored.object.metadata === 'object' && stored.object.metadata !== null ? (stored.object.metadata as Json) : {};
  return { ...stored.object, metadata: { ...meta, name: stored.name, ...(stored.namespace ? { namespace: stored.namespace } : {}), resourceVersion: stored.resourceVersion } };
}
