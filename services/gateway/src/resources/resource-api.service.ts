import { Inject, Injectable } from '@nestjs/common';
import { OBJECT_STORE, ObjectStore, StoredObject } from '@flotilla/clients';
import { ErrorReason, FlotillaError, PatchType, Principal, applyJsonPatch, applyMergePatch, patchTypeFromContentType } from '@flotilla/domain';
import { parseJsonBounded } from '@flotilla/parsing';
import { CHANGE_FEED, ChangeFeed } from './change-feed';
import { ListQuery, filterBySelectors, listLimit, parseSelectors } from './query';
import { asApiError, isNotFound, namespaceNotFound, preconditionFailed } from './resource-errors';
import { KindContext, ResourceKind, WriteContext, apiVersionOf } from './resource-kind';
import { Json, isObject, serverMetadata } from './validation';
import { ApplyOptions, applyConfigFor, applyToLive, defaultFieldManager, managedFieldsOnCreate, managedFieldsOnUpdate, unchanged, withManagedFields } from './server-side-apply';

export interface WriteOptions {
  dryRun: boolean;
  /** The request's namespace (namespaced kinds); '' or absent for cluster-scoped ones. */
  namespace?: string;
  principal?: Principal;
  /** ?fieldManager of a write, and the User-Agent that names the writer without one (managedFields). */
  fieldManager?: string;
  userAgent?: string;
}

/** What a change of an update produces: the new body, and for an apply the managedFields it leaves. */
interface Changed {
  body: unknown;
  managedFields?: unknown[];
  /** An apply that changes nothing is answered without a write (kube-apiserver's no-op). */
  skipNoop?: boolean;
}

export interface DeletePreconditions {
  uid?: string;
  resourceVersion?: string;
}

export interface DeleteStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success';
  details: { name: string; group: string; kind: string; uid?: string };
}

/** Attempts of a read-modify-write whose client set no resourceVersion (another writer may win in between). */
const UPDATE_ATTEMPTS = 5;
/** Where the host's namespaces are stored (core Namespace). */
export const NAMESPACES_STORE_KEY = 'namespaces.core';

const metaOf = (obj: Json): Json => (isObject(obj.metadata) ? obj.metadata : {});
const finalizersOf = (obj: Json): string[] => (Array.isArray(metaOf(obj).finalizers) ? (metaOf(obj).finalizers as unknown[]).filter((f): f is string => typeof f === 'string') : []);
/** metav1.Time: RFC 3339 in UTC, whole seconds. */
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The stored object with its name, namespace and resourceVersion as the store holds them. */
export function objectOf(stored: StoredObject): Json {
  return {
    ...stored.object,
    metadata: { ...metaOf(stored.object), name: stored.name, ...(stored.namespace ? { namespace: stored.namespace } : {}), resourceVersion: stored.resourceVersion },
  };
}

/**
 * The generic REST layer's logic: Kubernetes conventions (list, get, create, replace, patch,
 * delete with finalizers, dry run, optimistic concurrency, namespaces) over the registry's object
 * store, with each kind's rules from its descriptor. After a write it waits until this replica's
 * change feed has the write, so the replica's in-memory state (the IAM mirror) reflects it when
 * the client gets its answer.
 */
@Injectable()
export class ResourceApiService {
  private readonly ctx: KindContext;

  constructor(
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(CHANGE_FEED) private readonly feed: ChangeFeed,
  ) {
    this.ctx = { store };
  }

  /** One namespace's objects, or every namespace's (namespace ''). */
  async list(kind: ResourceKind, q: ListQuery, namespace = ''): Promise<Json> {
    const selectors = parseSelectors(q);
    const limit = listLimit(q.limit);
    if (kind.builtIns) {
      const items = kind.builtIns.filter((o) => filterBySelectors(selectors, o)).map((o) => kind.toApi(o));
      return { apiVersion: apiVersionOf(kind), kind: kind.listKind, metadata: { resourceVersion: '0' }, items };
    }
    // Filtering happens after the store's page, so a page may hold fewer than `limit` items (the API server may do the same).
    const page = await this.store.list(kind.storeKey, { limit, continue: q.continue || undefined, ...(namespace ? { namespace } : {}) });
    const items = page.items.map(objectOf).filter((o) => filterBySelectors(selectors, o)).map((o) => kind.toApi(o));
    return {
      apiVersion: apiVersionOf(kind),
      kind: kind.listKind,
      metadata: { resourceVersion: page.revision, ...(page.continue ? { continue: page.continue } : {}) },
      items,
    };
  }

  async get(kind: ResourceKind, name: string, namespace = ''): Promise<Json> {
    return kind.toApi(await this.getStored(kind, name, namespace));
  }

  async create(kind: ResourceKind, body: unknown, options: WriteOptions, managedFields?: unknown[]): Promise<Json> {
    this.writable(kind);
    const namespace = options.namespace ?? '';
    if (kind.namespaced) await this.requireNamespace(namespace);
    const validated = kind.validate(body, undefined, { namespace });
    const prepared = kind.prepareCreate?.(validated) ?? { object: validated };
    let object: Json = { ...prepared.object, apiVersion: apiVersionOf(kind), kind: kind.kind };
    if (managedFields) object = withManagedFields(object, managedFields);
    const name = String(metaOf(object).name ?? '');
    object = (await kind.admit?.(object, undefined, this.writeContext('create', options))) ?? object;
    if (options.dryRun) {
      // As the API server: a dry run reports what the write would, including a taken name; no secret is shown.
      if (await this.exists(kind, name, namespace)) throw asApiError(kind, name, new FlotillaError(ErrorReason.AlreadyExists, 'exists'));
      return kind.toApi(object);
    }
    let stored: StoredObject;
    try {
      stored = await this.store.create(kind.storeKey, object, namespace || undefined);
    } catch (error) {
      throw asApiError(kind, name, error);
    }
    await this.feed.caughtUp(stored.resourceVersion);
    const shown = kind.toApi(objectOf(stored));
    return prepared.reveal ? prepared.reveal(shown) : shown;
  }

  async replace(kind: ResourceKind, name: string, body: unknown, options: WriteOptions): Promise<Json> {
    this.writable(kind);
    const sent = isObject(body) && isObject(body.metadata) ? body.metadata : {};
    if (typeof sent.name === 'string' && sent.name !== name) {
      throw new FlotillaError(ErrorReason.BadRequest, `the name of the object (${sent.name}) does not match the name on the URL (${name})`, {
        causes: [{ reason: 'FieldValueInvalid', field: 'metadata.name', message: `must be "${name}", the name on the URL` }],
      });
    }
    const withName = isObject(body) ? { ...body, metadata: { ...sent, name } } : body;
    return this.update(kind, name, () => ({ body: withName }), options, 'update');
  }

  async patch(kind: ResourceKind, name: string, contentType: string | undefined, patchText: string, options: WriteOptions): Promise<Json> {
    this.writable(kind);
    const type = patchTypeFromContentType(contentType, [PatchType.Merge, PatchType.Json]);
    const patch = parseJsonBounded(patchText, 'the patch');
    // The patch applies to the object as the client sees it (hidden fields stay out of its reach).
    return this.update(kind, name, (current) => ({ body: type === PatchType.Merge ? applyMergePatch(current, patch) : applyJsonPatch(current, patch) }), options, 'patch');
  }

  /**
   * Server-side apply: the configuration merged into the object (created when absent, after
   * `beforeCreate`, which checks the caller may create), ownership recorded in managedFields,
   * a field another manager owns a 409 Conflict unless forced.
   */
  async apply(kind: ResourceKind, name: string, body: unknown, options: WriteOptions, apply: ApplyOptions, beforeCreate?: () => Promise<void>): Promise<{ created: boolean; object: Json }> {
    this.writable(kind);
    const namespace = options.namespace ?? '';
    const { config, resourceVersion } = applyConfigFor(kind, name, namespace, body);
    for (let attempt = 1; ; attempt++) {
      if (!(await this.exists(kind, name, namespace))) {
        if (resourceVersion !== undefined) throw asApiError(kind, name, new FlotillaError(ErrorReason.NotFound, 'not found'));
        await beforeCreate?.();
        try {
          return { created: true, object: await this.create(kind, config, options, managedFieldsOnCreate(kind, config, apply)) };
        } catch (error) {
          if (!(error instanceof FlotillaError && error.reason === ErrorReason.AlreadyExists) || options.dryRun || attempt >= UPDATE_ATTEMPTS) throw error;
          continue;
        }
      }
      try {
        const object = await this.update(
          kind,
          name,
          (current) => {
            const applied = applyToLive(kind, current, config, apply);
            const merged = resourceVersion === undefined ? applied.object : { ...applied.object, metadata: { ...metaOf(applied.object), resourceVersion } };
            return { body: merged, managedFields: applied.managedFields, skipNoop: true };
          },
          options,
          'patch',
        );
        return { created: false, object };
      } catch (error) {
        // Deleted in between: the next round creates it.
        if (!isNotFound(error) || attempt >= UPDATE_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * Deletes: a Success Status; or, for an object of a finalizers kind that still has finalizers,
   * marks it with metadata.deletionTimestamp and answers the object (whoever owns the finalizers
   * deletes it when done), as kube-apiserver.
   */
  async delete(kind: ResourceKind, name: string, options: WriteOptions & { preconditions?: DeletePreconditions }): Promise<DeleteStatus | Json> {
    this.writable(kind);
    const namespace = options.namespace ?? '';
    let current: Json;
    try {
      current = await this.getStored(kind, name, namespace);
    } catch (error) {
      // A retry after a cascade that failed half-way finishes the job (the object is already gone).
      if (isNotFound(error) && !options.dryRun) await kind.cascadeDelete?.(name, this.ctx);
      throw error;
    }
    this.checkPreconditions(kind, name, current, options.preconditions);
    await kind.admitDelete?.(current, this.writeContext('delete', options));
    if (kind.finalizers && finalizersOf(current).length > 0) return this.markDeleted(kind, name, current, options);
    if (options.dryRun) return this.deleted(kind, name, metaOf(current).uid);
    // The cascade runs before (so a failed cascade leaves the object, and a retry redoes it), and
    // again after (a dependent created in between).
    await kind.cascadeDelete?.(name, this.ctx);
    let last: StoredObject;
    try {
      last = await this.store.delete(kind.storeKey, name, namespace || undefined, options.preconditions);
    } catch (error) {
      throw asApiError(kind, name, error);
    }
    await kind.cascadeDelete?.(name, this.ctx);
    await this.feed.caughtUp(last.resourceVersion);
    return this.deleted(kind, name, metaOf(last.object).uid);
  }

  private async markDeleted(kind: ResourceKind, name: string, current: Json, options: WriteOptions & { preconditions?: DeletePreconditions }): Promise<Json> {
    const namespace = options.namespace ?? '';
    for (let attempt = 1, old = current; ; attempt++) {
      if (metaOf(old).deletionTimestamp !== undefined) return kind.toApi(old);
      const marked: Json = { ...old, metadata: { ...metaOf(old), deletionTimestamp: now() } };
      if (options.dryRun) return kind.toApi(marked);
      try {
        const stored = await this.store.update(kind.storeKey, marked, namespace || undefined);
        await this.feed.caughtUp(stored.resourceVersion);
        return kind.toApi(objectOf(stored));
      } catch (error) {
        const lostRace = error instanceof FlotillaError && error.reason === ErrorReason.Conflict && !options.preconditions?.resourceVersion;
        if (!lostRace || attempt >= UPDATE_ATTEMPTS) throw asApiError(kind, name, error);
        old = await this.getStored(kind, name, namespace);
        this.checkPreconditions(kind, name, old, options.preconditions);
      }
    }
  }

  private deleted(kind: ResourceKind, name: string, uid: unknown): DeleteStatus {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: kind.group, kind: kind.plural, ...(typeof uid === 'string' ? { uid } : {}) } };
  }

  /**
   * Read, change, validate, write. `change` gets the object as the API shows it; when its result
   * carries the resourceVersion it was given (the client asked for none of its own), a lost race
   * is retried, as the API server does; a stale resourceVersion the client sent is a 409.
   */
  private async update(kind: ResourceKind, name: string, change: (current: Json) => Changed, options: WriteOptions, verb: 'update' | 'patch'): Promise<Json> {
    const namespace = options.namespace ?? '';
    for (let attempt = 1; ; attempt++) {
      const old = await this.getStored(kind, name, namespace);
      const oldVersion = String(metaOf(old).resourceVersion);
      const shown = kind.toApi(old);
      const changed = change(shown);
      const body = changed.body;
      const validated = kind.validate(body, old, { namespace });
      const asked = metaOf(validated).resourceVersion;
      const clientVersion = typeof asked === 'string' && asked !== '' && asked !== oldVersion ? asked : undefined;
      if (clientVersion !== undefined && options.dryRun) throw asApiError(kind, name, new FlotillaError(ErrorReason.Conflict, 'stale'));
      let object: Json = {
        ...validated,
        apiVersion: apiVersionOf(kind),
        kind: kind.kind,
        metadata: { ...metaOf(validated), ...serverMetadata(old), name, ...(namespace ? { namespace } : {}), resourceVersion: clientVersion ?? oldVersion },
      };
      object = (await kind.admit?.(object, old, this.writeContext(verb, options))) ?? object;
      const managedFields = changed.managedFields ?? managedFieldsOnUpdate(kind, shown, kind.toApi(object), options.fieldManager || defaultFieldManager(options.userAgent));
      if (managedFields) object = withManagedFields(object, managedFields);
      if (changed.skipNoop && clientVersion === undefined && unchanged(object, old)) return shown;
      const finishing = this.checkFinalizers(kind, name, object, old);
      if (options.dryRun) return kind.toApi(object);
      try {
        const stored = await this.store.update(kind.storeKey, object, namespace || undefined);
        if (finishing) return await this.finishDeletion(kind, name, stored);
        await this.feed.caughtUp(stored.resourceVersion);
        return kind.toApi(objectOf(stored));
      } catch (error) {
        const lostRace = error instanceof FlotillaError && error.reason === ErrorReason.Conflict && clientVersion === undefined;
        if (!lostRace || attempt >= UPDATE_ATTEMPTS) throw asApiError(kind, name, error);
      }
    }
  }

  /**
   * Once an object is marked for deletion no finalizer may be added (Invalid); true when the update
   * removes the last one, so the object is then deleted.
   */
  private checkFinalizers(kind: ResourceKind, name: string, object: Json, old: Json): boolean {
    if (!kind.finalizers || metaOf(old).deletionTimestamp === undefined) return false;
    const before = new Set(finalizersOf(old));
    const added = finalizersOf(object).filter((f) => !before.has(f));
    if (added.length > 0) {
      throw new FlotillaError(ErrorReason.Invalid, `${kind.kind} "${name}" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ["${added.join('", "')}"]`, {
        name,
        kind: kind.kind,
        causes: [{ reason: 'FieldValueForbidden', field: 'metadata.finalizers', message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ["${added.join('", "')}"]` }],
      });
    }
    return finalizersOf(object).length === 0;
  }

  /** The last finalizer is gone: delete the object (only this incarnation of it), and answer its last state. */
  private async finishDeletion(kind: ResourceKind, name: string, stored: StoredObject): Promise<Json> {
    const uid = metaOf(stored.object).uid;
    try {
      const last = await this.store.delete(kind.storeKey, name, stored.namespace || undefined, typeof uid === 'string' ? { uid } : undefined);
      await this.feed.caughtUp(last.resourceVersion);
    } catch (error) {
      if (!isNotFound(error)) throw asApiError(kind, name, error);
    }
    return kind.toApi(objectOf(stored));
  }

  private checkPreconditions(kind: ResourceKind, name: string, current: Json, p: DeletePreconditions | undefined): void {
    const meta = metaOf(current);
    if (p?.uid && p.uid !== meta.uid) throw preconditionFailed(kind, name, 'UID', p.uid, meta.uid);
    if (p?.resourceVersion && p.resourceVersion !== meta.resourceVersion) throw preconditionFailed(kind, name, 'ResourceVersion', p.resourceVersion, meta.resourceVersion);
  }

  private writeContext(verb: WriteContext['verb'], options: WriteOptions): WriteContext {
    return { store: this.store, namespace: options.namespace ?? '', verb, dryRun: options.dryRun, ...(options.principal ? { principal: options.principal } : {}) };
  }

  /** kube's NamespaceLifecycle: no object is created in a namespace that does not exist. */
  private async requireNamespace(namespace: string): Promise<void> {
    if (namespace === '') throw new FlotillaError(ErrorReason.BadRequest, 'the namespace of the provided object is empty: create it at .../namespaces/<namespace>/...');
    try {
      await this.store.get(NAMESPACES_STORE_KEY, namespace);
    } catch (error) {
      if (isNotFound(error)) throw namespaceNotFound(namespace);
      throw error;
    }
  }

  private async getStored(kind: ResourceKind, name: string, namespace = ''): Promise<Json> {
    if (kind.builtIns) {
      const found = kind.builtIns.find((o) => metaOf(o).name === name);
      if (!found) throw asApiError(kind, name, new FlotillaError(ErrorReason.NotFound, 'not found'));
      return found;
    }
    try {
      return objectOf(await this.store.get(kind.storeKey, name, namespace || undefined));
    } catch (error) {
      throw asApiError(kind, name, error);
    }
  }

  private async exists(kind: ResourceKind, name: string, namespace: string): Promise<boolean> {
    try {
      await this.store.get(kind.storeKey, name, namespace || undefined);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  private writable(kind: ResourceKind): void {
    if (!kind.readOnly) return;
    throw new FlotillaError(ErrorReason.MethodNotAllowed, `${kind.plural}.${kind.group} are built in and read-only: they can be read and bound, not written`, {
      group: kind.group,
      kind: kind.plural,
    });
  }
}
