import { ErrorReason, FlotillaError, matchesLabels, parseFieldSelector, parseLabelSelector } from '@flotilla/domain';
import type { FieldRequirement, LabelRequirement } from '@flotilla/domain';
import { Json, isObject } from './validation';

/** The query of a list or watch, as Kubernetes clients send it. */
export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: string;
  continue?: string;
  watch?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: string;
  timeoutSeconds?: string;
}

/** The most the object store returns in one page. */
const MAX_LIMIT = 1000;
/** Fields a field selector may name on these kinds (as for most Kubernetes kinds). */
const SELECTABLE_FIELDS = ['metadata.name', 'metadata.namespace'];

export function badQuery(field: string, message: string): FlotillaError {
  return new FlotillaError(ErrorReason.BadRequest, `${field}: ${message}`, { causes: [{ reason: 'FieldValueInvalid', field, message }] });
}

/** One value of a query parameter; a repeated one is refused rather than guessed at. */
export function single(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  throw badQuery(field, 'must be given once, as a string');
}

export interface Selectors {
  labels: LabelRequirement[];
  fields: FieldRequirement[];
}

export function parseSelectors(q: ListQuery): Selectors {
  return { labels: parseLabelSelector(q.labelSelector), fields: parseFieldSelector(q.fieldSelector, SELECTABLE_FIELDS) };
}

export function filterBySelectors(selectors: Selectors, obj: Json): boolean {
  const meta = isObject(obj.metadata) ? obj.metadata : {};
  const labels = isObject(meta.labels) ? (meta.labels as Record<string, string>) : undefined;
  if (!matchesLabels(selectors.labels, labels)) return false;
  return selectors.fields.every((f) => ((f.field === 'metadata.namespace' ? (meta.namespace ?? '') : meta.name) === f.value) === (f.operator === 'In'));
}

/** `limit` passed to the store, capped at its page maximum (the client follows `continue` for the rest). */
export function listLimit(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,9}$/.test(value)) throw badQuery('limit', `Invalid value: "${value.slice(0, 20)}": must be a non-negative whole number`);
  const n = Number(value);
  return n === 0 ? undefined : Math.min(n, MAX_LIMIT);
}

export function watchTimeoutSeconds(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,6}$/.test(value)) throw badQuery('timeoutSeconds', `Invalid value: "${value.slice(0, 20)}": must be a whole number of seconds`);
  return Number(value);
}

export function isTrue(value: string | undefined): boolean {
  return value === 'true' || value === '1';
}

/** dryRun=All, the only value the API server knows; anything else is refused naming the parameter. */
export function parseDryRun(value: unknown): boolean {
  if (value === undefined) return false;
  const values = Array.isArray(value) ? value : [value];
  for (const v of values) {
    if (v !== 'All') {
      throw new FlotillaError(ErrorReason.BadRequest, `dryRun: Unsupported value: ${JSON.stringify(v)}: supported values: "All"`, {
        causes: [{ reason: 'FieldValueNotSupported', field: 'dryRun', message: 'supported values: "All"' }],
      });
    }
  }
  return values.length > 0;
}

/** A resourceVersion from a client: an opaque decimal string; anything else is refused (never parsed as a number). */
export function parseResourceVersion(value: string | undefined): bigint | undefined {
  if (value === undefined || value === '' || value === '0') return undefined;
  if (!/^\d{1,30}$/.test(value)) throw badQuery('resourceVersion', `Invalid value: "${value.slice(0, 40)}": must be a resourceVersion this server returned`);
  return BigInt(value);
}
