import { ErrorCause, ErrorReason, FlotillaError, validateLabelsAndAnnotations } from '@flotilla/domain';

/**
 * Validation helpers for kind descriptors: collect every bad field as a Kubernetes StatusCause, then
 * throw one Invalid (422) naming them all, so a client fixes its object in one round trip.
 */
export type Json = Record<string, unknown>;

export const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Fields of metadata the server sets; a client may send them back unchanged (kubectl does). */
const SERVER_METADATA = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'managedFields', 'selfLink'];

export function shown(value: unknown): string {
  if (typeof value === 'string') return `"${value.length > 80 ? `${value.slice(0, 80)}...` : value}"`;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

export class Causes {
  readonly list: ErrorCause[] = [];
  required(field: string, what = 'Required value'): void {
    this.list.push({ reason: 'FieldValueRequired', message: what, field });
  }
  invalid(field: string, value: unknown, why: string): void {
    this.list.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${shown(value)}: ${why}`, field });
  }
  notSupported(field: string, value: unknown, supported: readonly string[]): void {
    this.list.push({ reason: 'FieldValueNotSupported', message: `Unsupported value: ${shown(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`, field });
  }
  forbidden(field: string, why: string): void {
    this.list.push({ reason: 'FieldValueForbidden', message: `Forbidden: ${why}`, field });
  }
  tooLong(field: string, max: string): void {
    this.list.push({ reason: 'FieldValueTooLong', message: `Too long: must have at most ${max}`, field });
  }
  tooMany(field: string, max: number): void {
    this.list.push({ reason: 'FieldValueTooMany', message: `Too many: must have at most ${max} items`, field });
  }
  /** Throws Invalid naming every cause, in the API server's message form, when there is any. */
  throwIfAny(kind: string, name: string | undefined): void {
    if (this.list.length === 0) return;
    const summary = this.list.map((c) => `${c.field}: ${c.message}`).join(', ');
    throw new FlotillaError(ErrorReason.Invalid, `${kind} "${name ?? ''}" is invalid: ${summary}`, { name, kind, causes: this.list });
  }
}

export function dns1123SubdomainErrors(value: string): string[] {
  const errors: string[] = [];
  if (value.length > 253) errors.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN.test(value)) {
    errors.push("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')");
  }
  return errors;
}

/**
 * Checks the metadata of a cluster-scoped object and returns it with only the fields a client may
 * write (name, labels, annotations, and on update the resourceVersion precondition). `name` comes
 * from the kind when the server generates it.
 */
export function validateMetadata(
  value: unknown,
  causes: Causes,
  mode: 'create' | 'update',
  options: { generatedName?: boolean; namespace?: string; finalizers?: boolean } = {},
): Json {
  const meta: Json = {};
  if (!isObject(value)) {
    if (!options.generatedName || value !== undefined) causes.required('metadata');
    return meta;
  }
  if (!options.generatedName) {
    if (value.name === undefined || value.name === null || value.name === '') causes.required('metadata.name', 'Required value: name is required');
    else if (typeof value.name !== 'string') causes.invalid('metadata.name', value.name, 'must be a string');
    else {
      for (const e of dns1123SubdomainErrors(value.name)) causes.invalid('metadata.name', value.name, e);
      meta.name = value.name;
    }
  }
  if (options.namespace === undefined || options.namespace === '') {
    if (value.namespace !== undefined && value.namespace !== '') causes.forbidden('metadata.namespace', 'this resource is cluster-scoped: leave the namespace out');
  } else {
    if (value.namespace !== undefined && value.namespace !== '' && value.namespace !== options.namespace) {
      causes.invalid('metadata.namespace', value.namespace, `does not match the namespace of the request ("${options.namespace}")`);
    }
    meta.namespace = options.namespace;
  }
  const { labels, annotations } = validateLabelsAndAnnotations(value, causes);
  if (labels) meta.labels = labels;
  if (annotations) meta.annotations = annotations;
  if (options.finalizers) {
    const finalizers = validateFinalizers(value.finalizers, causes);
    if (finalizers.length > 0) meta.finalizers = finalizers;
  } else if (value.finalizers !== undefined && value.finalizers !== null && !(Array.isArray(value.finalizers) && value.finalizers.length === 0)) {
    causes.forbidden('metadata.finalizers', 'this resource takes no finalizers');
  }
  if (value.resourceVersion !== undefined && value.resourceVersion !== null && value.resourceVersion !== '') {
    if (typeof value.resourceVersion !== 'string') causes.invalid('metadata.resourceVersion', value.resourceVersion, 'must be a string');
    else if (mode === 'create') causes.forbidden('metadata.resourceVersion', 'must be empty when creating an object');
    else meta.resourceVersion = value.resourceVersion;
  }
  return meta;
}

const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const MAX_FINALIZERS = 32;

/** metadata.finalizers: qualified names (`example.com/cleanup`), each once, at most 32. */
function validateFinalizers(value: unknown, causes: Causes): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    causes.invalid('metadata.finalizers', value, 'must be a list of strings');
    return [];
  }
  if (value.length > MAX_FINALIZERS) {
    causes.tooMany('metadata.finalizers', MAX_FINALIZERS);
    return [];
  }
  const out: string[] = [];
  value.forEach((f, i) => {
    if (typeof f !== 'string' || f.length > 316 || !QUALIFIED_NAME.test(f)) causes.invalid(`metadata.finalizers[${i}]`, f, 'must be a qualified name such as example.com/cleanup');
    else if (!out.includes(f)) out.push(f);
  });
  return out;
}

/** The server-set metadata of the stored object, carried over to its replacement. */
export function serverMetadata(stored: Json): Json {
  const meta = isObject(stored.metadata) ? stored.metadata : {};
  const out: Json = {};
  for (const key of SERVER_METADATA) if (meta[key] !== undefined) out[key] = meta[key];
  return out;
}

export function optionalString(value: unknown, field: string, causes: Causes, max = 1024): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    causes.invalid(field, value, 'must be a string');
    return undefined;
  }
  if (value.length > max) {
    causes.tooLong(field, `${max} characters`);
    return undefined;
  }
  return value;
}

/** Checks apiVersion and kind, when sent (a client may leave them out: the URL names the kind). */
export function checkTypeMeta(body: Json, apiVersion: string, kind: string, causes: Causes): void {
  if (body.apiVersion !== undefined && body.apiVersion !== apiVersion) causes.invalid('apiVersion', body.apiVersion, `must be "${apiVersion}"`);
  if (body.kind !== undefined && body.kind !== kind) causes.invalid('kind', body.kind, `must be "${kind}"`);
}

/** RFC 3339 timestamp (what Kubernetes calls metav1.Time), or undefined when not one. */
export function parseTimestamp(value: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
