import { ErrorReason, FlotillaError } from '../errors/flotilla-error';
import type { IncludeObject } from './table';

/** How a read is answered: as a Table, as the plain object or list (JSON), or not at all (406). */
export type TableNegotiation = { as: 'Table' } | { as: 'json' } | { as: 'notAcceptable'; message: string };

/** kube-apiserver's 406 message when no media type of Accept can be served. */
export const NOT_ACCEPTABLE_MESSAGE = 'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf';

/** Media types a plain answer satisfies (kube also serves YAML and protobuf; Flotilla answers JSON for those). */
const PLAIN_TYPES = new Set(['*/*', 'application/*', 'application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf']);
/** At most this many media types of an Accept header are looked at (bounded work for any header). */
const MAX_CLAUSES = 32;

/**
 * Picks the first media type of Accept that a read can be answered with, as kube-apiserver does:
 * `application/json;as=Table;g=meta.k8s.io;v=v1` (or v1beta1, which kubectl also sends) is a
 * Table; a plain type is JSON; another `as=` (PartialObjectMetadata, ...) is skipped. No Accept is
 * JSON; an Accept with nothing servable is 406 NotAcceptable.
 */
export function negotiateTable(accept: string | string[] | undefined): TableNegotiation {
  const header = Array.isArray(accept) ? accept.join(',') : accept;
  if (header === undefined || header.trim() === '') return { as: 'json' };
  const clauses = header.split(',').slice(0, MAX_CLAUSES);
  for (const clause of clauses) {
    const [type = '', ...params] = clause.split(';').map((x) => x.trim());
    const param = (key: string) => params.find((p) => p.toLowerCase().startsWith(`${key}=`))?.slice(key.length + 1);
    const as = param('as');
    const mediaType = type.toLowerCase();
    if (as === undefined) {
      if (PLAIN_TYPES.has(mediaType)) return { as: 'json' };
      continue;
    }
    if (as !== 'Table' || param('g') !== 'meta.k8s.io') continue;
    if (mediaType !== 'application/json' && mediaType !== 'application/*' && mediaType !== '*/*') continue;
    const v = param('v');
    if (v === 'v1' || v === 'v1beta1') return { as: 'Table' };
  }
  return { as: 'notAcceptable', message: NOT_ACCEPTABLE_MESSAGE };
}

/** `?includeObject=` of a Table read: None, Metadata (the default) or Object; anything else is refused naming the parameter. */
export function parseIncludeObject(value: unknown): IncludeObject {
  if (value === undefined || value === '') return 'Metadata';
  if (value === 'None' || value === 'Metadata' || value === 'Object') return value;
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : 'a repeated value';
  throw new FlotillaError(ErrorReason.BadRequest, `includeObject: Unsupported value: ${shown}: supported values: "None", "Metadata", "Object"`, {
    causes: [{ reason: 'FieldValueNotSupported', field: 'includeObject', message: 'supported values: "None", "Metadata", "Object"' }],
  });
}
