import type { ObjectStore } from '@flotilla/clients';
import type { Principal } from '@flotilla/domain';
import type { Json } from './validation';

/** What a kind's hooks may use: the object store (for checks across objects and cascades). */
export interface KindContext {
  store: ObjectStore;
}

/** What a write hook knows about the request: where, by whom, which verb, whether it is a dry run. */
export interface WriteContext extends KindContext {
  /** The request's namespace; '' for cluster-scoped kinds. */
  namespace: string;
  /** The authenticated caller (absent only where no authentication runs, e.g. some tests). */
  principal?: Principal;
  verb: 'create' | 'update' | 'patch' | 'delete';
  dryRun: boolean;
}

/** What validate knows besides the body: the request's namespace ('' when cluster-scoped). */
export interface ValidateContext {
  namespace: string;
}

/** What the create hook returns: the object to store, and how to show it in the answer to this POST only. */
export interface PreparedCreate {
  object: Json;
  /** Adds what only the creator may see once (a Token's secret) to the answer. */
  reveal?: (shown: Json) => Json;
}

/**
 * One Kubernetes-style kind served by the generic REST layer (resource-routes.ts) at
 * /apis/<group>/<version>/<plural>[/<name>] (cluster-scoped), or
 * /apis/<group>/<version>/namespaces/<ns>/<plural>[/<name>] plus the all-namespace list and watch
 * at /apis/<group>/<version>/<plural> (namespaced); the core group ('') is served under /api/<version>.
 * Stored in the registry's object store under `storeKey` (ADR 0031). The descriptor holds the
 * kind's rules; the layer holds the HTTP conventions.
 */
export interface ResourceKind {
  /** '' is the core group (/api/<version>). */
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  namespaced: boolean;
  /** The object store's resource key, `<plural>.<group>` (`<plural>.core` for the core group). */
  storeKey: string;
  /** Served from `builtIns` only: every write is 405 MethodNotAllowed. */
  readOnly?: boolean;
  /** Objects defined in code (readOnly kinds), served as if stored. */
  builtIns?: readonly Json[];
  /**
   * DELETE of an object whose metadata.finalizers is not empty marks it for deletion
   * (metadata.deletionTimestamp) and answers the object, as kube-apiserver; an update that leaves
   * a marked object without finalizers deletes it. Kinds without this refuse finalizers.
   */
  finalizers?: boolean;
  /**
   * Checks a client's object (on update, against the stored `old`, in its stored form) and returns
   * what is stored: only the fields a client may write, defaults applied. Throws FlotillaError
   * Invalid whose causes name each bad field.
   */
  validate(obj: unknown, old?: Json, ctx?: ValidateContext): Json;
  /** The object as the API shows it: hidden fields (a Token's hash) removed. Never mutates. */
  toApi(obj: Json): Json;
  /**
   * Checks across objects (a Token's user exists) and the caller's rights, after validate; throws
   * Invalid naming the field, or Forbidden. May return the object to store instead (server-set
   * annotations and finalizers).
   */
  admit?(obj: Json, old: Json | undefined, ctx: WriteContext): Promise<void | Json>;
  /** Checks a delete (rights, dependants) before anything changes; throws Forbidden or Conflict. */
  admitDelete?(stored: Json, ctx: WriteContext): Promise<void>;
  /** Server-side additions on create (a generated name, a secret's hash). */
  prepareCreate?(obj: Json): PreparedCreate;
  /** Runs before the object is deleted (and again after, to catch races); must be safe to retry. */
  cascadeDelete?(name: string, ctx: KindContext): Promise<void>;
}

export const RESOURCE_KINDS = Symbol('gateway.resource-kinds');

export const apiVersionOf = (kind: Pick<ResourceKind, 'group' | 'version'>) => (kind.group ? `${kind.group}/${kind.version}` : kind.version);
/** `/apis/<group>/<version>`, or `/api/<version>` for the core group. */
export const groupVersionPathOf = (kind: Pick<ResourceKind, 'group' | 'version'>) => (kind.group ? `/apis/${kind.group}/${kind.version}` : `/api/${kind.version}`);
/** The collection of a cluster-scoped kind, or every namespace's collection of a namespaced one. */
export const basePathOf = (kind: Pick<ResourceKind, 'group' | 'version' | 'plural'>) => `${groupVersionPathOf(kind)}/${kind.plural}`;
/** The collection of a namespaced kind in one namespace (an express path with :namespace). */
export const namespacedPathOf = (kind: Pick<ResourceKind, 'group' | 'version' | 'plural'>) => `${groupVersionPathOf(kind)}/namespaces/:namespace/${kind.plural}`;
/** How kube-apiserver names a resource in messages: `clusters.cluster.kubesphere.io`, `namespaces` (core). */
export const qualifiedResourceOf = (kind: Pick<ResourceKind, 'group' | 'plural'>) => (kind.group ? `${kind.plural}.${kind.group}` : kind.plural);
