/**
 * The registry's generic object store (issue 14; federation reuses it): Kubernetes-shaped objects
 * of any resource, kept in Postgres with one global revision. Implemented over gRPC by
 * ObjectsClient (flotilla.registry.v1.ObjectService). Errors are FlotillaErrors (NotFound,
 * AlreadyExists, Conflict on a stale resourceVersion, Gone when `since` is older than the
 * retained change log, Invalid). Sealed fields (a FederatedSecret's spec.template.data and
 * stringData, ADR 0034) are write-only: no read returns them; `unseal` does, for federation-sync.
 */
export const OBJECT_STORE = Symbol('flotilla.object-store');
export const AUDIT_STORE = Symbol('flotilla.audit-store');

/** A stored object: `object` is the full JSON with metadata.uid, resourceVersion, generation and creationTimestamp set by the registry. */
export interface StoredObject {
  /** `<plural>.<group>`, e.g. `users.iam.kubesphere.io`. */
  resource: string;
  namespace: string;
  name: string;
  resourceVersion: string;
  object: Record<string, unknown>;
}

export interface ObjectChange {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** The revision of this change (a decimal string; compare as BigInt, never as a number). */
  revision: string;
  object: StoredObject;
}

export interface ObjectChangePage {
  changes: ObjectChange[];
  /** The newest revision the store had when answering; pass it as `since` next time. */
  revision: string;
}

export interface ObjectListPage {
  items: StoredObject[];
  /** The revision the list is consistent with (watch from here). */
  revision: string;
  continue?: string;
}

export interface ObjectStore {
  /** Creates; AlreadyExists when the name is taken. metadata.name must be set. */
  create(resource: string, object: Record<string, unknown>, namespace?: string): Promise<StoredObject>;
  /** Replaces; with metadata.resourceVersion set, Conflict when it is stale. */
  update(resource: string, object: Record<string, unknown>, namespace?: string): Promise<StoredObject>;
  /** Deletes and returns the last state; NotFound when absent. */
  delete(resource: string, name: string, namespace?: string, preconditions?: { resourceVersion?: string; uid?: string }): Promise<StoredObject>;
  get(resource: string, name: string, namespace?: string): Promise<StoredObject>;
  /** One page (limit ≤ 1000, default 500) of one resource, optionally one namespace, ordered by name. */
  list(resource: string, options?: { namespace?: string; limit?: number; continue?: string }): Promise<ObjectListPage>;
  /**
   * Changes after `since` (exclusive), oldest first, for the given resources (all when empty), at
   * most `limit` (≤ 5000, default 1000). Gone (410) when `since` is older than the retained log:
   * list again.
   */
  changes(since: string, options?: { resources?: string[]; limit?: number }): Promise<ObjectChangePage>;
  /**
   * The full plaintext object of a resource with sealed fields (a FederatedSecret with its
   * spec.template.data and stringData back in). Allowed to federation-sync only (Forbidden
   * otherwise); BadRequest for a resource that seals nothing. Never log or store what it returns.
   */
  unseal(resource: string, name: string, namespace?: string): Promise<StoredObject>;
}

/** One audit event, in the audit.k8s.io/v1 Event shape (no credential, token or Secret data, ever). */
export type AuditEvent = Record<string, unknown> & {
  auditID: string;
  stageTimestamp: string;
  verb: string;
  user: { username: string; groups?: string[]; extra?: Record<string, string[]> };
};

export interface AuditQuery {
  user?: string;
  cluster?: string;
  verb?: string;
  /** RFC 3339 */
  since?: string;
  until?: string;
  limit?: number;
  continue?: string;
}

export interface AuditStore {
  /** Stores a batch in one transaction; events carry `annotations['flotilla.io/cluster']` when proxied. */
  append(events: AuditEvent[]): Promise<void>;
  /** Newest first. */
  query(query: AuditQuery): Promise<{ items: AuditEvent[]; continue?: string }>;
}
