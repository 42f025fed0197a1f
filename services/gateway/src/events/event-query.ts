import { ErrorReason, FieldRequirement, FlotillaError, matchesLabels, parseFieldSelector, parseLabelSelector } from '@flotilla/domain';
import type { LabelRequirement } from '@flotilla/domain';
import type { Json } from './kube-events';

/** Which API the request is on: core/v1 Events or events.k8s.io/v1 Events (same events, two shapes). */
export type EventsApi = 'core' | 'events.k8s.io';

export interface EventListQuery {
  fieldSelector?: string;
  labelSelector?: string;
  limit?: string;
  continue?: string;
}

export interface EventWatchQuery {
  fieldSelector?: string;
  labelSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: string;
  timeoutSeconds?: string;
}

/**
 * Where the events stand: the registry's cluster events (their sequence) and the object store
 * (its revision, for the federated objects' events). Served as one opaque resourceVersion,
 * `c<cluster>.o<object>`: clients pass it back, never compare or parse it.
 */
export interface EventsVersion {
  cluster: string;
  object: string;
}

const EVENTS_VERSION = /^c([0-9]{1,19})\.o([0-9]{1,19})$/;

export function formatEventsVersion(v: EventsVersion): string {
  return `c${v.cluster}.o${v.object}`;
}

/** A resourceVersion this server returned; undefined for '' and '0' (kube: the current state, then what follows). */
export function parseEventsVersion(value: string | undefined): EventsVersion | undefined {
  if (value === undefined || value === '' || value === '0') return undefined;
  const m = EVENTS_VERSION.exec(value);
  if (!m) {
    throw new FlotillaError(ErrorReason.BadRequest, `resourceVersion: Invalid value: "${value.slice(0, 40)}": must be a resourceVersion an events list or watch of this server returned (or "0")`, {
      causes: [{ reason: 'FieldValueInvalid', field: 'resourceVersion', message: 'must be a resourceVersion this server returned' }],
    });
  }
  return { cluster: m[1]!, object: m[2]! };
}

/** Field selectors of core/v1 Events, as kube-apiserver supports them. */
const CORE_FIELDS = [
  'metadata.name',
  'metadata.namespace',
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
];
/** events.k8s.io/v1 names the same fields after its own shape; they select the same core fields. */
const EVENTS_V1_ALIASES: Record<string, string> = {
  'regarding.kind': 'involvedObject.kind',
  'regarding.namespace': 'involvedObject.namespace',
  'regarding.name': 'involvedObject.name',
  'regarding.uid': 'involvedObject.uid',
  'regarding.apiVersion': 'involvedObject.apiVersion',
  'regarding.resourceVersion': 'involvedObject.resourceVersion',
  'regarding.fieldPath': 'involvedObject.fieldPath',
  reportingController: 'reportingComponent',
};
export const MAX_EVENT_LIMIT = 500;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface EventSelector {
  fields: FieldRequirement[];
  labels: LabelRequirement[];
}

export function parseEventSelector(q: EventListQuery, api: EventsApi): EventSelector {
  const supported = api === 'core' ? CORE_FIELDS : [...CORE_FIELDS, ...Object.keys(EVENTS_V1_ALIASES)];
  const fields = parseFieldSelector(q.fieldSelector, supported).map((f) => ({ ...f, field: EVENTS_V1_ALIASES[f.field] ?? f.field }));
  return { fields, labels: parseLabelSelector(q.labelSelector) };
}

/** The value of a selectable field of a core/v1 Event ('' when absent, as kube compares it). */
function fieldValue(e: Json, field: string): string {
  if (field === 'source') return String((isObject(e.source) ? e.source.component : undefined) ?? '');
  const [head, tail] = field.split('.', 2) as [string, string | undefined];
  const v = tail === undefined ? e[head] : isObject(e[head]) ? (e[head] as Json)[tail] : undefined;
  return v === undefined || v === null ? '' : String(v);
}

/** Whether a core/v1 Event matches the selector. */
export function eventMatches(selector: EventSelector, e: Json): boolean {
  const meta = isObject(e.metadata) ? e.metadata : {};
  if (!matchesLabels(selector.labels, isObject(meta.labels) ? (meta.labels as Record<string, string>) : undefined)) return false;
  return selector.fields.every((f) => (fieldValue(e, f.field) === f.value) === (f.operator === 'In'));
}

/** The one value a selector pins a field to (field=value), if it does. */
export function pinned(selector: EventSelector, field: string): string | undefined {
  return selector.fields.find((f) => f.field === field && f.operator === 'In')?.value;
}

export function eventLimit(value: string | undefined): number | undefined {
  if (value === undefined || value === '' || value === '0') return undefined;
  if (!/^\d{1,9}$/.test(value)) {
    throw new FlotillaError(ErrorReason.BadRequest, `limit: Invalid value: "${value.slice(0, 20)}": must be a non-negative whole number`, {
      causes: [{ reason: 'FieldValueInvalid', field: 'limit', message: 'must be a non-negative whole number' }],
    });
  }
  return Math.min(Number(value), MAX_EVENT_LIMIT);
}

/**
 * Where a paged list of events goes on: in the clusters' events after `cluster` (by name), or in
 * the federation events from the object store's own continue token. `rv`: the first page's
 * resourceVersion, which every page of the list answers (as kube-apiserver's pages do).
 */
export type EventCursor = ({ phase: 'clusters'; after: string } | { phase: 'federation'; store?: string }) & { rv?: string };

export function encodeCursor(cursor: EventCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeCursor(token: string | undefined): EventCursor | undefined {
  if (token === undefined || token === '') return undefined;
  const bad = () =>
    new FlotillaError(ErrorReason.BadRequest, 'continue: Invalid value: the continue token is not one this server returned; list again without it', {
      causes: [{ reason: 'FieldValueInvalid', field: 'continue', message: 'must be a continue token this server returned' }],
    });
  if (token.length > 4096) throw bad();
  try {
    const c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown;
    const rv = isObject(c) && typeof c.rv === 'string' && EVENTS_VERSION.test(c.rv) ? { rv: c.rv } : {};
    if (isObject(c) && c.phase === 'clusters' && typeof c.after === 'string') return { phase: 'clusters', after: c.after, ...rv };
    if (isObject(c) && c.phase === 'federation' && (c.store === undefined || typeof c.store === 'string')) return { phase: 'federation', ...(c.store ? { store: c.store } : {}), ...rv };
  } catch {
    // reported below
  }
  throw bad();
}
