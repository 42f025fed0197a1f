import { createHash } from 'node:crypto';
import { ErrorReason, FlotillaError } from '../errors/flotilla-error';
import { FEDERATED_OBJECT_ANNOTATION, HASH_ANNOTATION, MANAGED_BY_LABEL, federatedObjectKey, managedByValue } from './constants';
import { isObject, type Json } from './causes';
import type { FederatedKindInfo } from './kinds';
import { MEMBER_SET_METADATA, applyOverrides, overridesForCluster } from './overrides';

/** The object placed in one member: the template with that cluster's overrides and Flotilla's marks. */
export interface MemberObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** Far deeper than validation lets a template nest (64): only a guard against stack exhaustion. */
const MAX_CANONICAL_DEPTH = 512;

function canonical(value: unknown, depth: number): unknown {
  if (depth > MAX_CANONICAL_DEPTH) throw new FlotillaError(ErrorReason.Invalid, `the object nests deeper than ${MAX_CANONICAL_DEPTH} levels`);
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : canonical(v, depth + 1)));
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const key of Object.keys(value).sort()) {
    const v = value[key];
    if (v === undefined) continue;
    Object.defineProperty(out, key, { value: canonical(v, depth + 1), writable: true, enumerable: true, configurable: true });
  }
  return out;
}

/** A deep copy with every object's keys in sorted order (so its JSON is canonical); undefined members are dropped. */
export function canonicalCopy<T>(value: T): T {
  return canonical(value, 0) as T;
}

/** The JSON of a value with object keys sorted at every level: equal values give byte-identical text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonical(value, 0));
}

const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * Hex sha256 of the canonical JSON of a member object, without its hash annotation (so the hash of
 * an object as applied equals the annotation it carries).
 */
export function canonicalHash(obj: Record<string, unknown>): string {
  const copy = canonical(obj, 0) as Json;
  const annotations = isObject(copy.metadata) ? copy.metadata.annotations : undefined;
  if (isObject(annotations)) delete annotations[HASH_ANNOTATION];
  return sha256Hex(JSON.stringify(copy));
}

function templateOf(fed: Json): Json {
  const spec = isObject(fed.spec) ? fed.spec : {};
  return isObject(spec.template) ? spec.template : {};
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(value)) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true });
  return out;
}

/**
 * The object to apply in `clusterName` for a federated object: its template (without status) with
 * that cluster's overrides applied in order, the federated object's name (and namespace when the
 * placed kind is namespaced), the managed-by label, the federated-object annotation and the hash
 * annotation. Deterministic: the same input gives byte-identical JSON (keys sorted at every level).
 * Never mutates `fed`. Throws FlotillaError Invalid when an override does not apply or a
 * FederatedObject's template lacks apiVersion or kind (validation refuses both on write).
 */
export function memberObjectFor(info: FederatedKindInfo, fed: { metadata: { name: string; namespace?: string }; spec?: unknown } | Json, clusterName: string): MemberObject {
  const f = fed as Json;
  const fedMeta = (isObject(f.metadata) ? f.metadata : {}) as { name?: unknown; namespace?: unknown };
  const name = typeof fedMeta.name === 'string' ? fedMeta.name : '';
  const namespace = info.namespaced && typeof fedMeta.namespace === 'string' && fedMeta.namespace !== '' ? fedMeta.namespace : undefined;
  const template = templateOf(f);
  const { status: _status, ...withoutStatus } = template;
  const spec = isObject(f.spec) ? f.spec : {};
  const doc = applyOverrides(withoutStatus, overridesForCluster(spec.overrides, clusterName));

  const apiVersion = info.target?.apiVersion ?? template.apiVersion;
  const kind = info.target?.kind ?? template.kind;
  if (typeof apiVersion !== 'string' || apiVersion === '' || typeof kind !== 'string' || kind === '') {
    const field = typeof apiVersion !== 'string' || apiVersion === '' ? 'spec.template.apiVersion' : 'spec.template.kind';
    throw new FlotillaError(ErrorReason.Invalid, `${field}: Required value: a ${info.kind}'s template names the kind it places`, {
      causes: [{ reason: 'FieldValueRequired', field, message: `Required value: a ${info.kind}'s template names the kind it places, e.g. apiVersion: apps/v1, kind: Deployment` }],
    });
  }
  const placedNamespaced = info.target ? info.target.namespaced : info.namespaced;

  const metadata: Json = { ...(isObject(doc.metadata) ? doc.metadata : {}) };
  for (const key of [...MEMBER_SET_METADATA, 'ownerReferences', 'generateName']) delete metadata[key];
  metadata.name = name;
  if (placedNamespaced && namespace) metadata.namespace = namespace;
  else delete metadata.namespace;
  const labels = stringMap(metadata.labels);
  labels[MANAGED_BY_LABEL] = managedByValue(namespace, name);
  const annotations = stringMap(metadata.annotations);
  delete annotations[HASH_ANNOTATION];
  annotations[FEDERATED_OBJECT_ANNOTATION] = federatedObjectKey(info.storeKey, namespace, name);
  metadata.labels = labels;
  metadata.annotations = annotations;

  const member = canonical({ ...doc, apiVersion, kind, metadata }, 0) as MemberObject;
  const hash = sha256Hex(JSON.stringify(member));
  member.metadata.annotations = canonical({ ...member.metadata.annotations, [HASH_ANNOTATION]: hash }, 0) as Record<string, string>;
  return member;
}
