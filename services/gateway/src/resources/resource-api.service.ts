import { Inject, Injectable } from '@nestjs/common';
import { OBJECT_STORE, ObjectStore, StoredObject } from '@flotilla/clients';
import { ErrorReason, FlotillaError, PatchType, applyJsonPatch, applyMergePatch, patchTypeFromContentType } from '@flotilla/domain';
import { parseJsonBounded } from '@flotilla/parsing';
import { CHANGE_FEED, ChangeFeed } from './change-feed';
import { ListQuery, filterBySelectors, listLimit, parseSelectors } from './query';
import { KindContext, ResourceKind, apiVersionOf } from './resource-kind';
import { Json, isObject, serverMetadata } from './validation';

export interface WriteOptions {
  dryRun: boolean;
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

const metaOf = (obj: Json): Json => (isObject(obj.metadata) ? obj.metadata : {});

/** The stored object with its name and resourceVersion as the store holds them. */
export function objectOf(stored: StoredObject): Json {
  return { ...stored.object, metadata: { ...metaOf(stored.object), name: stored.name, resourceVersion: stored.resourceVersion } };
}

/** The API server's messages for store errors, naming the resource and object. */
function asApiError(kind: ResourceKind, name: string, error: unknown): unknown {
  if (!(error instanceof FlotillaError)) return error;
  const details = { name, group: kind.group, kind: kind.plural };
  const what = `${kind.plural}.${kind.group} "${name}"`;
  switch (error.reason) {
    case ErrorReason.NotFound:
      return new FlotillaError(ErrorReason.NotFound, `${what} not found`, details);
    case ErrorReason.AlreadyExists:
      return new FlotillaError(ErrorReason.AlreadyExists, `${what} already exists`, details);
    case ErrorReason.Conflict:
      return new FlotillaError(
        ErrorReason.Conflict,
        `Operation cannot be fulfilled on ${what}: the object has been modified; please apply your changes to the latest version and try again`,
        details,
      );
    default:
      return error;
  }
}

/**
 * The generic REST layer's logic: Kubernetes conventions (list, get, create, replace, patch,
 * delete, dry run, optimistic concurrency) over the registry's object store, with each kind's rules
 * from its descriptor. After a write it waits until this replica's change feed has the write, so the
 * replica's in-memory state (the IAM mirror) reflects it when the client gets its answer.
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

  async list(kind: ResourceKind, q: ListQuery): Promise<Json> {
    const selectors = parseSelectors(q);
    const limit = listLimit(q.limit);
    if (kind.builtIns) {
      const items = kind.builtIns.filter((o) => filterBySelectors(selectors, o)).map((o) => kind.toApi(o));
      return { apiVersion: apiVersionOf(kind), kind: kind.listKind, metadata: { resourceVersion: '0' }, items };
    }
    // Filtering happens after the store's page, so a page may hold fewer than `limit` items (the API server may do the same).
    const page = await this.store.list(kind.storeKey, { limit, continue: q.continue || undefined });
    const items = page.items.map(objectOf).filter((o) => filterBySelectors(selectors, o)).map((o) => kind.toApi(o));
    return {
      apiVersion: apiVersionOf(kind),
      kind: kind.listKind,
      metadata: { resourceVersion: page.revision, ...(page.continue ? { continue: page.continue } : {}) },
      items,
    };
  }

  async get(kind: ResourceKind, name: string): Promise<Json> {
    return kind.toApi(await this.getStored(kind, name));
  }

  async create(kind: ResourceKind, body: unknown, options: WriteOptions): Promise<Json> {
    this.writable(kind);
    const validated = kind.validate(body);
    const prepared = kind.prepareCreate?.(validated) ?? { object: validated };
    const object: Json = { ...prepared.object, apiVersion: apiVersionOf(kind), kind: kind.kind };
    const name = String(metaOf(object).name ?? '');
    await kind.admit?.(object, undefined, this.ctx);
    if (options.dryRun) {
      // As the API server: a dry run reports what the write would, including a taken name; no secret is shown.
      if (await this.exists(kind, name)) throw asApiError(kind, name, new FlotillaError(ErrorReason.AlreadyExists, 'exists'));
      return kind.toApi(object);
    }
    let stored: StoredObject;
    try {
      stored = await this.store.create(kind.storeKey, object);
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
    return this.update(kind, name, () => withName, options);
  }

  async patch(kind: ResourceKind, name: string, contentType: string | undefined, patchText: string, options: WriteOptions): Promise<Json> {
    this.writable(kind);
    const type = patchTypeFromContentType(contentType, [PatchType.Merge, PatchType.Json]);
    const patch = parseJsonBounded(patchText, 'the patch');
    // The patch applies to the object as the client sees it (hidden fields stay out of its reach).
    return this.update(kind, name, (current) => (type === PatchType.Merge ? applyMergePatch(current, patch) : applyJsonPatch(current, patch)), options);
  }

  async delete(kind: ResourceKind, name: string, options: WriteOptions & { preconditions?: { uid?: string; resourceVersion?: string } }): Promise<DeleteStatus> {
    this.writable(kind);
    if (options.dryRun) {
      const current = await this.getStored(kind, name);
      return this.deleted(kind, name, metaOf(current).uid);
    }
    // The cascade runs before (so a failed cascade leaves the object, and a retry redoes it), and
    // again after (a dependent created in between); on NotFound too, so a retry finishes the job.
    await kind.cascadeDelete?.(name, this.ctx);
    let last: StoredObject;
    try {
      last = await this.store.delete(kind.storeKey, name, undefined, options.preconditions);
    } catch (error) {
      throw asApiError(kind, name, error);
    }
    await kind.cascadeDelete?.(name, this.ctx);
    await this.feed.caughtUp(last.resourceVersion);
    return this.deleted(kind, name, metaOf(last.object).uid);
  }

  private deleted(kind: ResourceKind, name: string, uid: unknown): DeleteStatus {
    return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: kind.group, kind: kind.plural, ...(typeof uid === 'string' ? { uid } : {}) } };
  }

  /**
   * Read, change, validate, write. `change` gets the object as the API shows it; when its result
   * carries the resourceVersion it was given (the client asked for none of its own), a lost race
   * is retried, as the API server does; a stale resourceVersion the client sent is a 409.
   */
  private async update(kind: ResourceKind, name: string, change: (current: Json) => unknown, options: WriteOptions): Promise<Json> {
    for (let attempt = 1; ; attempt++) {
      const old = await this.getStored(kind, name);
      const oldVersion = String(metaOf(old).resourceVersion);
      const body = change(kind.toApi(old));
      const validated = kind.validate(body, old);
      const asked = metaOf(validated).resourceVersion;
      const clientVersion = typeof asked === 'string' && asked !== '' && asked !== oldVersion ? asked : undefined;
      if (clientVersion !== undefined && options.dryRun) throw asApiError(kind, name, new FlotillaError(ErrorReason.Conflict, 'stale'));
      const object: Json = {
        ...validated,
        apiVersion: apiVersionOf(kind),
        kind: kind.kind,
        metadata: { ...metaOf(validated), ...serverMetadata(old), name, resourceVersion: clientVersion ?? oldVersion },
      };
      await kind.admit?.(object, old, this.ctx);
      if (options.dryRun) return kind.toApi(object);
      try {
        const stored = await this.store.update(kind.storeKey, object);
        await this.feed.caughtUp(stored.resourceVersion);
        return kind.toApi(objectOf(stored));
      } catch (error) {
        const lostRace = error instanceof FlotillaError && error.reason === ErrorReason.Conflict && clientVersion === undefined;
        if (!lostRace || attempt >= UPDATE_ATTEMPTS) throw asApiError(kind, name, error);
      }
    }
  }

  private async getStored(kind: ResourceKind, name: string): Promise<Json> {
    if (kind.builtIns) {
      const found = kind.builtIns.find((o) => metaOf(o).name === name);
      if (!found) throw asApiError(kind, name, new FlotillaError(ErrorReason.NotFound, 'not found'));
      return found;
    }
    try {
      return objectOf(await this.store.get(kind.storeKey, name));
    } catch (error) {
      throw asApiError(kind, name, error);
    }
  }

  private async exists(kind: ResourceKind, name: string): Promise<boolean> {
    try {
      await this.store.get(kind.storeKey, name);
      return true;
    } catch (error) {
      if (error instanceof FlotillaError && error.reason === ErrorReason.NotFound) return false;
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
