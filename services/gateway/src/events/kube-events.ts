import { ClusterEvent, NAME_COLUMN, TableColumn, TableObject, ageOf, tableColumn } from '@flotilla/domain';
import { toKubeEvent } from './cluster-events-api.service';

/** A JSON object (an Event in either API's shape). */
export type Json = Record<string, unknown>;

/** Where the events of cluster-scoped objects live, as in Kubernetes (a Node's events are in "default"). */
export const CLUSTER_SCOPED_EVENTS_NAMESPACE = 'default';

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const metaOf = (e: Json): Json => (isObject(e.metadata) ? e.metadata : {});

/** metav1.MicroTime of an RFC 3339 time: microseconds, UTC. */
function microTime(at: string): string {
  const ms = Date.parse(at);
  return Number.isNaN(ms) ? at : new Date(ms).toISOString().replace(/Z$/, '000Z');
}

/**
 * A cluster's event (a Ready transition seen by health-probe, or a federation step written by
 * federation-sync) as a core/v1 Event in namespace "default", regarding the Cluster. `clusterUid`:
 * the Cluster's metadata.uid when known (federation-sync records the member's kube-system uid,
 * which the Cluster carries as status.uid; kubectl describe selects events by metadata.uid).
 */
export function clusterEventAsCore(e: ClusterEvent, clusterUid?: string): Json {
  const event = toKubeEvent(e) as unknown as Json;
  const involved = isObject(event.involvedObject) ? event.involvedObject : {};
  return {
    ...event,
    metadata: { ...metaOf(event), namespace: CLUSTER_SCOPED_EVENTS_NAMESPACE },
    involvedObject: { ...involved, uid: clusterUid ?? e.clusterUid },
    eventTime: microTime(e.eventTime),
  };
}

/** A stored federation event (core/v1 as federation-sync writes it), its namespace always set. */
export function federationEventAsCore(stored: Json): Json {
  const meta = metaOf(stored);
  const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : CLUSTER_SCOPED_EVENTS_NAMESPACE;
  return { ...stored, apiVersion: 'v1', kind: 'Event', metadata: { ...meta, namespace }, eventTime: stored.eventTime ?? null };
}

/** A core/v1 Event as events.k8s.io/v1 shows it (kube-apiserver's conversion between the two). */
export function coreToEventsV1(e: Json): Json {
  const source = isObject(e.source) ? e.source : {};
  const count = typeof e.count === 'number' ? e.count : undefined;
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: metaOf(e),
    eventTime: e.eventTime ?? null,
    ...(typeof e.reportingComponent === 'string' || typeof source.component === 'string' ? { reportingController: e.reportingComponent || source.component } : {}),
    ...(typeof e.reportingInstance === 'string' && e.reportingInstance !== '' ? { reportingInstance: e.reportingInstance } : {}),
    ...(typeof e.action === 'string' ? { action: e.action } : {}),
    reason: e.reason,
    regarding: e.involvedObject,
    ...(isObject(e.related) ? { related: e.related } : {}),
    note: e.message,
    type: e.type,
    ...(Object.keys(source).length > 0 ? { deprecatedSource: source } : {}),
    ...(e.firstTimestamp ? { deprecatedFirstTimestamp: e.firstTimestamp } : {}),
    ...(e.lastTimestamp ? { deprecatedLastTimestamp: e.lastTimestamp } : {}),
    ...(count !== undefined ? { deprecatedCount: count } : {}),
  };
}

/** When an event last happened, in either shape. */
export function lastSeenOf(e: Json): string {
  for (const key of ['lastTimestamp', 'deprecatedLastTimestamp', 'eventTime', 'firstTimestamp', 'deprecatedFirstTimestamp']) {
    const v = e[key];
    if (typeof v === 'string' && v !== '') return v;
  }
  const created = metaOf(e).creationTimestamp;
  return typeof created === 'string' ? created : '';
}

const regardingOf = (e: Json): Json => (isObject(e.involvedObject) ? e.involvedObject : isObject(e.regarding) ? e.regarding : {});

/** kube's event table (`kubectl get events`): LAST SEEN TYPE REASON OBJECT MESSAGE, and more with -o wide. */
export const EVENT_COLUMNS: readonly TableColumn[] = [
  tableColumn('Last Seen', 'The last time the event was seen', (o, now) => ageOf(lastSeenOf(o), now)),
  tableColumn('Type', 'The type of the event (Normal or Warning)', (o) => String(o.type ?? '')),
  tableColumn('Reason', 'The reason of the event', (o) => String(o.reason ?? '')),
  tableColumn('Object', 'The object the event is about', (o) => `${String(regardingOf(o).kind ?? '').toLowerCase()}/${String(regardingOf(o).name ?? '')}`),
  tableColumn('Message', 'The message of the event', (o: TableObject) => String(o.message ?? o.note ?? '')),
  tableColumn('Subobject', 'The part of the object the event is about', (o) => String(regardingOf(o).fieldPath ?? ''), { priority: 1 }),
  tableColumn('Source', 'The component that reported the event', (o) => String((isObject(o.source) ? o.source.component : undefined) ?? o.reportingComponent ?? o.reportingController ?? ''), { priority: 1 }),
  tableColumn('First Seen', 'The first time the event was seen', (o, now) => ageOf(o.firstTimestamp ?? o.deprecatedFirstTimestamp ?? o.eventTime, now), { priority: 1 }),
  tableColumn('Count', 'How many times the event happened', (o) => (typeof o.count === 'number' ? o.count : typeof o.deprecatedCount === 'number' ? o.deprecatedCount : 1), { priority: 1 }),
  { ...NAME_COLUMN, priority: 1 },
];

/** A stored federation event's object, its name, namespace and resourceVersion from the store. */
export function storedEventObject(stored: { object: Json; name: string; namespace?: string; resourceVersion: string }): Json {
  const meta = metaOf(stored.object);
  return { ...stored.object, metadata: { ...meta, name: stored.name, ...(stored.namespace ? { namespace: stored.namespace } : {}), resourceVersion: stored.resourceVersion } };
}
