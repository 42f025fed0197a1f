import { createHash } from 'node:crypto';

/**
 * Federation's names (issue 15): the annotations and labels on federated objects and on the member
 * objects they produce, the finalizer, and the object-store keys of the objects around them.
 */
export const FEDERATION_GROUP = 'federation.flotilla.io';
export const FEDERATION_FINALIZER = 'federation.flotilla.io/cleanup';
/** On member objects: `<namespace>.<name>` of the federated object (see managedByValue). */
export const MANAGED_BY_LABEL = 'federation.flotilla.io/managed-by';
/** On member objects: `<resource>/<namespace>/<name>` of the federated object (namespace empty when cluster-scoped). */
export const FEDERATED_OBJECT_ANNOTATION = 'federation.flotilla.io/federated-object';
/** On member objects: canonicalHash of the object as applied (computed without this annotation). */
export const HASH_ANNOTATION = 'federation.flotilla.io/hash';
/** On federated objects, set by the gateway on every write: JSON `{"user": "...", "groups": [...]}`. */
export const LAST_WRITER_ANNOTATION = 'federation.flotilla.io/last-writer';
export const RETAIN_ANNOTATION = 'federation.flotilla.io/retain';
export const ADOPT_ANNOTATION = 'federation.flotilla.io/adopt';
export const DRIFT_ANNOTATION = 'federation.flotilla.io/drift';
/** The server-side apply field manager of member objects. */
export const FIELD_MANAGER = 'flotilla-federation';

export const ORPHAN_RESOURCE = 'orphans.federation.flotilla.io';
export const ORPHAN_API_VERSION = 'federation.flotilla.io/v1alpha1';
export const ORPHAN_KIND = 'Orphan';
export const ORPHAN_LIST_KIND = 'OrphanList';
/** On each Orphan: the member cluster it is in. */
export const ORPHAN_CLUSTER_LABEL = 'federation.flotilla.io/cluster';
export const FEDERATION_EVENT_RESOURCE = 'events.federation.flotilla.io';
export const NAMESPACE_RESOURCE = 'namespaces.core';
/** Events kept per federated object; the oldest goes first. */
export const FEDERATION_EVENTS_PER_OBJECT = 50;
/** An event with the same reason and cluster within this window bumps the count of the existing one. */
export const FEDERATION_EVENT_DEDUP_SECONDS = 600;

/** Why a cluster's entry in status.clusters[] is not Applied (status.clusters[].reason). */
export const FederationClusterReason = {
  ClusterNotReady: 'ClusterNotReady',
  ClusterNotFound: 'ClusterNotFound',
  ApplyFailed: 'ApplyFailed',
  Conflict: 'Conflict',
  Forbidden: 'Forbidden',
  InsufficientRights: 'InsufficientRights',
  WaitingForNamespace: 'WaitingForNamespace',
  WaitingForCRD: 'WaitingForCRD',
  NamespaceNotFederated: 'NamespaceNotFederated',
  Orphaned: 'Orphaned',
  Removing: 'Removing',
  Drifted: 'Drifted',
} as const;
export type FederationClusterReason = (typeof FederationClusterReason)[keyof typeof FederationClusterReason];

/** Reasons of the Propagation (when False) and Ready conditions. */
export const FederationConditionReason = {
  CheckClusters: 'CheckClusters',
  TemplateInvalid: 'TemplateInvalid',
  NotReady: 'NotReady',
  Ready: 'Ready',
} as const;
export type FederationConditionReason = (typeof FederationConditionReason)[keyof typeof FederationConditionReason];

const MAX_LABEL_VALUE = 63;
const sha256Hex = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

/**
 * The managed-by label value of a federated object's member objects: `<namespace>.<name>`, or just
 * `<name>` when cluster-scoped. Longer than 63 characters (a label value's limit): the first 46
 * characters, `-`, and the first 16 hex digits of the sha256 of the full value.
 */
export function managedByValue(namespace: string | undefined, name: string): string {
  const full = namespace ? `${namespace}.${name}` : name;
  if (full.length <= MAX_LABEL_VALUE) return full;
  return `${full.slice(0, 46)}-${sha256Hex(full).slice(0, 16)}`;
}

/** The federated-object annotation value: `<resource>/<namespace>/<name>` (namespace empty when cluster-scoped). */
export function federatedObjectKey(resource: string, namespace: string | undefined, name: string): string {
  return `${resource}/${namespace ?? ''}/${name}`;
}

/** Reads a federated-object annotation value back; undefined when it is not one. */
export function parseFederatedObjectKey(value: string | undefined): { resource: string; namespace: string; name: string } | undefined {
  if (typeof value !== 'string') return undefined;
  const parts = value.split('/');
  if (parts.length !== 3 || !parts[0] || !parts[2]) return undefined;
  return { resource: parts[0], namespace: parts[1]!, name: parts[2] };
}

/** The name of the Orphan of a member object: `<cluster>.<first 16 hex of sha256(apiVersion/kind/namespace/name)>`. */
export function orphanName(cluster: string, ref: { apiVersion: string; kind: string; namespace?: string; name: string }): string {
  return `${cluster}.${sha256Hex(`${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`).slice(0, 16)}`;
}

export interface FederationPolicies {
  retain: boolean;
  adopt: boolean;
  drift: 'repair' | 'report';
}

/** The policies a federated object asks for in its annotations (anything but "true" is false; drift is repair unless "report"). */
export function federationPolicies(annotations: Record<string, string> | undefined | null): FederationPolicies {
  const a = annotations ?? {};
  return {
    retain: a[RETAIN_ANNOTATION] === 'true',
    adopt: a[ADOPT_ANNOTATION] === 'true',
    drift: a[DRIFT_ANNOTATION] === 'report' ? 'report' : 'repair',
  };
}

export interface LastWriter {
  user: string;
  groups: string[];
}

/** The last-writer annotation's value for a principal (user and groups only; never a token). */
export function lastWriterValue(principal: { user: string; groups: readonly string[] }): string {
  return JSON.stringify({ user: principal.user, groups: [...principal.groups] });
}

/** Reads the last-writer annotation; undefined when absent or unreadable (such an object grants nothing new). */
export function parseLastWriter(annotations: Record<string, string> | undefined | null): LastWriter | undefined {
  const raw = annotations?.[LAST_WRITER_ANNOTATION];
  if (typeof raw !== 'string' || raw.length > 64 * 1024) return undefined;
  try {
    const v = JSON.parse(raw) as { user?: unknown; groups?: unknown };
    if (typeof v?.user !== 'string' || v.user === '') return undefined;
    const groups = Array.isArray(v.groups) ? v.groups.filter((g): g is string => typeof g === 'string') : [];
    return { user: v.user, groups };
  } catch {
    return undefined;
  }
}
