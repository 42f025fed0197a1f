import { labelValueErrors, qualifiedNameErrors } from '../cluster/names';

/** Where metadata problems are collected, as Kubernetes StatusCauses (each validator has its own collector; both fit). */
export interface MetadataCauses {
  invalid(field: string, value: unknown, why: string): void;
  tooLong(field: string, max: string): void;
}

/** Kubernetes' limit on all annotations of an object together (keys and values, in bytes: TotalAnnotationSizeLimitB). */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** An object of qualified-name keys to string values (labels, annotations); every bad key or value is a cause naming it. */
function stringMap(value: unknown, field: string, causes: MetadataCauses, checkValue: (v: string) => string[]): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) {
    causes.invalid(field, value, 'must be an object of string keys to string values');
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    for (const e of qualifiedNameErrors(k)) causes.invalid(field, k, e);
    if (typeof v !== 'string') {
      causes.invalid(`${field}[${k}]`, v, 'must be a string');
      continue;
    }
    for (const e of checkValue(v)) causes.invalid(`${field}[${k}]`, v, e);
    out[k] = v;
  }
  return out;
}

/**
 * Checks metadata.labels and metadata.annotations of any Kubernetes-style object as the API server
 * does (qualified-name keys, label values, annotations at most 256 KiB together) and returns the
 * ones given (undefined when absent), with what is usable of them when some entries are bad.
 */
export function validateLabelsAndAnnotations(metadata: Json, causes: MetadataCauses): { labels?: Record<string, string>; annotations?: Record<string, string> } {
  const out: { labels?: Record<string, string>; annotations?: Record<string, string> } = {};
  const labels = stringMap(metadata.labels, 'metadata.labels', causes, labelValueErrors);
  if (labels) out.labels = labels;
  const annotations = stringMap(metadata.annotations, 'metadata.annotations', causes, () => []);
  if (annotations) {
    const size = Object.entries(annotations).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    if (size > MAX_ANNOTATIONS_BYTES) causes.tooLong('metadata.annotations', `${MAX_ANNOTATIONS_BYTES} bytes`);
    out.annotations = annotations;
  }
  return out;
}
