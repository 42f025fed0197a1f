import type { AuditEvent, AuditQuery } from '@flotilla/clients';
import { ErrorCause, ErrorReason, FlotillaError } from '@flotilla/domain';
import { parseJsonBounded } from '@flotilla/parsing';

/**
 * The rules of the audit store, pure: what an event must carry, the columns a query filters on,
 * and the keyset continue token (stageTimestamp, auditID) of a newest-first query.
 */

/** One event's JSON; larger events are refused (the writer drops request and response objects first, as Kubernetes' truncating backend does). */
export const MAX_AUDIT_EVENT_BYTES = 1024 * 1024;
export const MAX_AUDIT_BATCH = 1000;
export const QUERY_DEFAULT_LIMIT = 100;
export const QUERY_MAX_LIMIT = 1000;
export const CLUSTER_ANNOTATION = 'flotilla.io/cluster';

const AUDIT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** RFC 3339 with an optional fraction (audit stage timestamps carry microseconds) and a zone. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const MAX_CONTINUE_BYTES = 1024;

/** The columns stored beside the event, for the query filters and paging. */
export interface AuditRow {
  auditId: string;
  stageTimestamp: string;
  username: string;
  verb: string;
  cluster: string | null;
  code: number | null;
  event: AuditEvent;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const isRfc3339 = (v: unknown): v is string => typeof v === 'string' && RFC3339.test(v) && !Number.isNaN(Date.parse(v));

/** Checks a batch and extracts each event's columns; every problem is named (events[i].field) in one Invalid error. */
export function auditRows(events: unknown[]): AuditRow[] {
  const causes: ErrorCause[] = [];
  const bad = (field: string, message: string) => causes.push({ reason: 'FieldValueInvalid', field, message });
  if (events.length > MAX_AUDIT_BATCH) bad('events', `at most ${MAX_AUDIT_BATCH} events per batch`);
  const rows = events.map((e, i): AuditRow | undefined => {
    const at = `events[${i}]`;
    if (!isObject(e)) return void bad(at, 'must be an audit.k8s.io/v1 Event object');
    const user = e.user;
    const annotations = isObject(e.annotations) ? e.annotations : {};
    const cluster = annotations[CLUSTER_ANNOTATION];
    const status = isObject(e.responseStatus) ? e.responseStatus : {};
    if (typeof e.auditID !== 'string' || !AUDIT_ID.test(e.auditID)) bad(`${at}.auditID`, 'must be 1-128 letters, digits, ".", "_", ":" or "-" (a UUID)');
    if (!isRfc3339(e.stageTimestamp)) bad(`${at}.stageTimestamp`, 'must be an RFC 3339 time, e.g. 2026-11-24T10:00:00.123456Z');
    if (typeof e.verb !== 'string' || e.verb === '' || e.verb.length > 64) bad(`${at}.verb`, 'Required value: 1-64 characters');
    if (!isObject(user) || typeof user.username !== 'string' || user.username.length > 1024) bad(`${at}.user.username`, 'Required value: a string of at most 1024 characters');
    if (cluster !== undefined && (typeof cluster !== 'string' || cluster.length > 253)) bad(`${at}.annotations["${CLUSTER_ANNOTATION}"]`, 'must be a cluster name');
    if (status.code !== undefined && !Number.isInteger(status.code)) bad(`${at}.responseStatus.code`, 'must be a whole number');
    if (causes.length > 0) return undefined;
    const event = e as AuditEvent;
    return {
      auditId: event.auditID,
      stageTimestamp: event.stageTimestamp,
      username: event.user.username,
      verb: event.verb,
      cluster: typeof cluster === 'string' ? cluster : null,
      code: typeof status.code === 'number' ? status.code : null,
      event,
    };
  });
  if (causes.length > 0) {
    throw new FlotillaError(ErrorReason.Invalid, `audit events are invalid: ${causes.slice(0, 10).map((c) => `${c.field}: ${c.message}`).join(', ')}`, { causes: causes.slice(0, 100) });
  }
  return rows as AuditRow[];
}

/** Where the next page starts: strictly before this (stageTimestamp, auditID), newest first. */
export interface AuditCursor {
  ts: string;
  id: string;
}

export function encodeAuditContinue(cursor: AuditCursor): string {
  return Buffer.from(JSON.stringify({ v: 1, ...cursor }), 'utf8').toString('base64url');
}

function badRequest(field: string, message: string): FlotillaError {
  return new FlotillaError(ErrorReason.BadRequest, `${field}: ${message}`, { causes: [{ reason: 'FieldValueInvalid', field, message }] });
}

export function decodeAuditContinue(raw: string): AuditCursor {
  try {
    if (raw.length > MAX_CONTINUE_BYTES) throw new Error('too long');
    const t = parseJsonBounded(Buffer.from(raw, 'base64url').toString('utf8'), 'the continue token', { maxBytes: MAX_CONTINUE_BYTES, maxDepth: 2 }) as { v?: number; ts?: unknown; id?: unknown };
    if (t.v === 1 && isRfc3339(t.ts) && typeof t.id === 'string' && AUDIT_ID.test(t.id)) return { ts: t.ts, id: t.id };
  } catch {
    // fall through
  }
  throw badRequest('continue', 'not a continue token this server issued: pass the continue value of the previous page unchanged');
}

/** A checked query: times are RFC 3339 (since inclusive, until exclusive), the limit is bounded. */
export interface AuditFilter {
  user?: string;
  cluster?: string;
  verb?: string;
  since?: string;
  until?: string;
  limit: number;
  after?: AuditCursor;
}

export function auditFilter(q: AuditQuery): AuditFilter {
  for (const field of ['since', 'until'] as const) {
    if (q[field] && !isRfc3339(q[field])) throw badRequest(field, 'must be an RFC 3339 time, e.g. 2026-11-24T10:00:00Z');
  }
  for (const field of ['user', 'cluster', 'verb'] as const) {
    if (q[field] && q[field].length > 1024) throw badRequest(field, 'must be at most 1024 characters');
  }
  const limit = q.limit ?? 0;
  if (!Number.isInteger(limit) || limit < 0) throw badRequest('limit', 'must be a positive whole number');
  return {
    user: q.user || undefined,
    cluster: q.cluster || undefined,
    verb: q.verb || undefined,
    since: q.since || undefined,
    until: q.until || undefined,
    limit: limit === 0 ? QUERY_DEFAULT_LIMIT : Math.min(limit, QUERY_MAX_LIMIT),
    after: q.continue ? decodeAuditContinue(q.continue) : undefined,
  };
}
