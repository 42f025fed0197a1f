import type { ErrorCause } from '@flotilla/domain';
import { ParseLimitError, parseJsonBounded } from '@flotilla/parsing';
import { JsonObject, MAX_OBJECT_BYTES, invalid, sameJson } from './object-rules';

/**
 * Write-only fields of the object store (ADR 0034), kept pure (no I/O, no keys): which resources
 * have them, how a written object is split into what is stored in the clear and the secret part
 * that is sealed, and how the two are put back together for the one caller allowed to see them.
 */

/** A FederatedSecret's spec.template.data and spec.template.stringData are a credential. */
export const SEALED_RESOURCES: readonly string[] = ['federatedsecrets.types.kubefed.io'];
/** Where a row of `objects` keeps its sealed part (never in `object_changes`, never returned by a read). */
export const SEALED_KEY = '__sealed';
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

const SECRET_FIELDS = ['data', 'stringData'] as const;
type SecretField = (typeof SECRET_FIELDS)[number];
/** The sealed part of an object: what was given for data and stringData (a field left out stays out). */
export type SecretPart = Partial<Record<SecretField, Record<string, string>>>;

/** The sealed part as a row stores it: the key id and base64(iv | tag | ciphertext). */
export interface SealedValue {
  keyId: string;
  ciphertext: string;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export const isSealedResource = (resource: string): boolean => SEALED_RESOURCES.includes(resource);

/** Binds a ciphertext to its object: it cannot be copied into another object, or into one recreated under the same name. */
export const sealedAssociatedData = (resource: string, namespace: string, name: string, uid: string): string => `object/${resource}/${namespace}/${name}/${uid}`;

/** The object without its sealed part: what every read returns. */
export function withoutSealed(object: JsonObject): JsonObject {
  if (!(SEALED_KEY in object)) return object;
  const { [SEALED_KEY]: _, ...rest } = object;
  return rest;
}

export function sealedValueOf(object: JsonObject): SealedValue | undefined {
  const v = object[SEALED_KEY];
  return isObject(v) && typeof v.keyId === 'string' && typeof v.ciphertext === 'string' ? { keyId: v.keyId, ciphertext: v.ciphertext } : undefined;
}

function checkStringMap(value: unknown, field: string, base64: boolean, causes: ErrorCause[]): value is Record<string, string> {
  if (!isObject(value)) {
    causes.push({ reason: 'FieldValueInvalid', field, message: 'must be an object of string values' });
    return false;
  }
  for (const [k, v] of Object.entries(value)) {
    // Never the value in the message: it is a secret.
    if (typeof v !== 'string') causes.push({ reason: 'FieldValueInvalid', field: `${field}[${k}]`, message: 'must be a string' });
    else if (base64 && (v.length % 4 !== 0 || !BASE64.test(v))) {
      causes.push({ reason: 'FieldValueInvalid', field: `${field}[${k}]`, message: 'must be base64 (put plain text under stringData instead)' });
    }
  }
  return true;
}

/** Overrides would put data in the clear in the stored object: refused, naming the path (the gateway refuses them first). */
function overrideCauses(spec: JsonObject): ErrorCause[] {
  const causes: ErrorCause[] = [];
  const overrides = Array.isArray(spec.overrides) ? spec.overrides : [];
  overrides.forEach((o, i) => {
    const list = isObject(o) && Array.isArray(o.clusterOverrides) ? o.clusterOverrides : [];
    list.forEach((c, j) => {
      const path = isObject(c) && typeof c.path === 'string' ? c.path : '';
      if (/^\/(data|stringData)(\/|$)/.test(path)) {
        causes.push({
          reason: 'FieldValueForbidden',
          field: `spec.overrides[${i}].clusterOverrides[${j}].path`,
          message: 'a FederatedSecret\'s data may not be overridden per cluster (the value would be stored in plain text): use one FederatedSecret per placement',
        });
      }
    });
  });
  return causes;
}

/** Removes the given top-level keys from a JSON annotation value; undefined when it is not a JSON object (the annotation is then dropped). */
function cleanJsonAnnotation(value: unknown, strip: (parsed: JsonObject) => void): string | undefined {
  if (typeof value !== 'string') return undefined;
  let parsed: unknown;
  try {
    parsed = parseJsonBounded(value, 'annotation', { maxBytes: MAX_OBJECT_BYTES });
  } catch (error) {
    if (error instanceof ParseLimitError) return undefined;
    throw error;
  }
  if (!isObject(parsed)) return undefined;
  strip(parsed);
  return JSON.stringify(parsed);
}

const dropSecretFields = (o: unknown) => {
  if (isObject(o)) for (const f of SECRET_FIELDS) delete o[f];
};

/** Annotations with last-applied-configuration cleaned (or dropped when unparsable); the same object when there is none. */
function cleanAnnotations(annotations: unknown, strip: (parsed: JsonObject) => void): unknown {
  if (!isObject(annotations) || !(LAST_APPLIED in annotations)) return annotations;
  const out: JsonObject = { ...annotations };
  const cleaned = cleanJsonAnnotation(annotations[LAST_APPLIED], strip);
  if (cleaned === undefined) delete out[LAST_APPLIED];
  else out[LAST_APPLIED] = cleaned;
  return out;
}

const withAnnotations = (metadata: JsonObject, annotations: unknown): JsonObject => {
  if (annotations === metadata.annotations) return metadata;
  return { ...metadata, annotations };
};

/**
 * Splits a written object of a sealed resource: the object to store in the clear (data and
 * stringData out of its template, last-applied-configuration cleaned, any client-sent sealed part
 * ignored) and the secret part, undefined when the template has neither field (absent = keep the
 * stored one). Invalid naming the field when the secret fields are not string maps or an override
 * touches them.
 */
export function splitSealed(resource: string, name: string, input: JsonObject): { object: JsonObject; secret: SecretPart | undefined } {
  const object = withoutSealed(input);
  const causes: ErrorCause[] = [];
  const metadata = isObject(object.metadata) ? object.metadata : {};
  const cleanedMetadata = withAnnotations(
    metadata,
    cleanAnnotations(metadata.annotations, (applied) => {
      const template = isObject(applied.spec) ? applied.spec.template : undefined;
      dropSecretFields(template);
    }),
  );
  const out: JsonObject = { ...object, metadata: cleanedMetadata };
  if (!isObject(object.spec)) return { object: out, secret: undefined };
  causes.push(...overrideCauses(object.spec));
  const template = object.spec.template;
  let secret: SecretPart | undefined;
  if (isObject(template)) {
    const { data, stringData, ...rest } = template;
    const clean: JsonObject = { ...rest };
    if (isObject(rest.metadata)) {
      // A Secret copied from `kubectl get -o yaml` carries its own last-applied-configuration, with its data.
      clean.metadata = withAnnotations(rest.metadata, cleanAnnotations(rest.metadata.annotations, dropSecretFields));
    }
    if (data !== undefined || stringData !== undefined) {
      secret = {};
      if (data !== undefined && checkStringMap(data, 'spec.template.data', true, causes)) secret.data = data;
      if (stringData !== undefined && checkStringMap(stringData, 'spec.template.stringData', false, causes)) secret.stringData = stringData;
    }
    out.spec = { ...object.spec, template: clean };
  }
  if (causes.length > 0) throw invalid(resource, name, causes);
  return { object: out, secret };
}

/** Empty maps say nothing a member would see: `data: {}` and no data are the same plaintext. */
function normalised(secret: SecretPart | undefined): SecretPart {
  const out: SecretPart = {};
  for (const f of SECRET_FIELDS) if (secret?.[f] && Object.keys(secret[f]).length > 0) out[f] = secret[f];
  return out;
}

export const samePlaintext = (a: SecretPart | undefined, b: SecretPart | undefined): boolean => sameJson(normalised(a), normalised(b));

/** The secret part as sealed: compact JSON of the given fields only. */
export const secretPlaintext = (secret: SecretPart): string => JSON.stringify(secret);

/** The secret part back from its plaintext; anything but string maps is dropped (the registry wrote it, so this is a guard). */
export function secretFromPlaintext(text: string): SecretPart {
  const parsed: unknown = JSON.parse(text);
  const out: SecretPart = {};
  if (!isObject(parsed)) return out;
  for (const f of SECRET_FIELDS) {
    const v = parsed[f];
    if (isObject(v) && Object.values(v).every((s) => typeof s === 'string')) out[f] = v as Record<string, string>;
  }
  return out;
}

/** The full plaintext object: the stored one with the secret part back in its template. */
export function withSecret(object: JsonObject, secret: SecretPart | undefined): JsonObject {
  const clean = withoutSealed(object);
  if (!secret || Object.keys(secret).length === 0) return clean;
  const spec = isObject(clean.spec) ? clean.spec : {};
  const template = isObject(spec.template) ? spec.template : {};
  return { ...clean, spec: { ...spec, template: { ...template, ...secret } } };
}
