import type { AuditEvent, AuditQuery } from '@flotilla/clients';
import { ErrorReason, FlotillaError } from '@flotilla/domain';

export const AUDIT_API_VERSION = 'audit.flotilla.io/v1alpha1';
export const AUDIT_LIST_KIND = 'EventList';
export const MAX_AUDIT_LIMIT = 1000;
export const DEFAULT_AUDIT_LIMIT = 500;

export interface AuditEventList {
  apiVersion: typeof AUDIT_API_VERSION;
  kind: typeof AUDIT_LIST_KIND;
  metadata: { continue?: string };
  items: AuditEvent[];
}

/** RFC 3339 date-time (with a zone, optional fraction), as Kubernetes writes timestamps. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const VERB = /^[a-z]{1,32}$/;
const MAX_TEXT = 512;
const MAX_CONTINUE = 4096;

function bad(field: string, message: string): FlotillaError {
  return new FlotillaError(ErrorReason.BadRequest, `${field}: ${message}`, { causes: [{ reason: 'FieldValueInvalid', field, message }] });
}

/** One query parameter as a single string: a repeated parameter (`?user=a&user=b`) is refused, not guessed at. */
function single(query: Record<string, unknown>, field: string, max = MAX_TEXT): string | undefined {
  const value = query[field];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw bad(field, 'give it once, as a single value');
  if (value.length > max) throw bad(field, `must be at most ${max} characters`);
  return value;
}

/** A real calendar day: Date.parse rolls 2026-02-30 over to March 2 instead of refusing it. */
function realDay(value: string): boolean {
  const [year, month, day] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  return month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function time(query: Record<string, unknown>, field: 'since' | 'until'): string | undefined {
  const value = single(query, field, 64);
  if (value === undefined) return undefined;
  if (!RFC3339.test(value) || !realDay(value) || Number.isNaN(Date.parse(value))) throw bad(field, 'must be an RFC 3339 time, e.g. 2026-01-31T12:00:00Z');
  return new Date(value).toISOString();
}

/**
 * The query of GET /apis/audit.flotilla.io/v1alpha1/events, checked: each bad parameter is a 400
 * Status naming it and what it must be. Times are normalised to UTC.
 */
export function parseAuditQuery(query: Record<string, unknown>): AuditQuery {
  const out: AuditQuery = {};
  const user = single(query, 'user');
  if (user !== undefined) out.user = user;
  const cluster = single(query, 'cluster', 253);
  if (cluster !== undefined) out.cluster = cluster;
  const verb = single(query, 'verb', 32);
  if (verb !== undefined) {
    if (!VERB.test(verb)) throw bad('verb', 'must be a Kubernetes verb in lower case, e.g. get, list, watch, create, update, patch, delete');
    out.verb = verb;
  }
  const since = time(query, 'since');
  const until = time(query, 'until');
  if (since !== undefined && until !== undefined && since > until) throw bad('until', 'must not be before since');
  if (since !== undefined) out.since = since;
  if (until !== undefined) out.until = until;
  const limit = single(query, 'limit', 8);
  if (limit !== undefined) {
    if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_AUDIT_LIMIT) throw bad('limit', `must be a whole number from 1 to ${MAX_AUDIT_LIMIT}`);
    out.limit = Number(limit);
  } else out.limit = DEFAULT_AUDIT_LIMIT;
  const token = single(query, 'continue', MAX_CONTINUE);
  if (token !== undefined) out.continue = token;
  return out;
}

export function auditEventList(page: { items: AuditEvent[]; continue?: string }): AuditEventList {
  return { apiVersion: AUDIT_API_VERSION, kind: AUDIT_LIST_KIND, metadata: page.continue ? { continue: page.continue } : {}, items: page.items };
}
