import type { ObjectStore } from '@flotilla/clients';
import type { Json } from './validation';

/** What a kind's hooks may use: the object store (for checks across objects and cascades). */
export interface KindContext {
  store: ObjectStore;
}

/** What the create hook returns: the object to store, and how to show it in the answer to this POST only. */
export interface PreparedCreate {
  object: Json;
  /** Adds what only the creator may see once (a Token's secret) to the answer. */
  reveal?: (shown: Json) => Json;
}

/**
 * One Kubernetes-style kind served by the generic REST layer (resource-routes.ts) at
 * /apis/<group>/<version>/<plural>[/<name>], stored in the registry's object store under `storeKey`
 * (ADR 0031). The descriptor holds the kind's rules; the layer holds the HTTP conventions.
 */
export interface ResourceKind {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  namespaced: false;
  /** The object store's resource key, `<plural>.<group>` (IamResource.*). */
  storeKey: string;
  /** Served from `builtIns` only: every write is 405 MethodNotAllowed. */
  readOnly?: boolean;
  /** Objects defined in code (readOnly kinds), served as if stored. */
  builtIns?: readonly Json[];
  /**
   * Checks a client's object (on update, against the stored `old`, in its stored form) and returns
   * what is stored: only the fields a client may write, defaults applied. Throws FlotillaError
   * Invalid whose causes name each bad field.
   */
  validate(obj: unknown, old?: Json): Json;
  /** The object as the API shows it: hidden fields (a Token's hash) removed. Never mutates. */
  toApi(obj: Json): Json;
  /** Checks across objects (a Token's user exists), after validate; throws Invalid naming the field. */
  admit?(obj: Json, old: Json | undefined, ctx: KindContext): Promise<void>;
  /** Server-side additions on create (a generated name, a secret's hash). */
  prepareCreate?(obj: Json): PreparedCreate;
  /** Runs before the object is deleted (and again after, to catch races); must be safe to retry. */
  cascadeDelete?(name: string, ctx: KindContext): Promise<void>;
}

export const RESOURCE_KINDS = Symbol('gateway.resource-kinds');

export const apiVersionOf = (kind: Pick<ResourceKind, 'group' | 'version'>) => `${kind.group}/${kind.version}`;
export const basePathOf = (kind: Pick<ResourceKind, 'group' | 'version' | 'plural'>) => `/apis/${kind.group}/${kind.version}/${kind.plural}`;
