import { randomUUID } from 'node:crypto';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { ObjectChangePage, ObjectListPage, StoredObject } from '@flotilla/clients';
import { UnitOfWork } from '@flotilla/persistence';
import { CONFIG } from '@flotilla/service-kit';
import { RegistryConfig } from '../config';
import { Clock } from '../infrastructure/clock';
import { PruneScheduler } from '../infrastructure/prune-scheduler';
import { CLOCK } from '../infrastructure/tokens';
import { ObjectChangesRepository } from './object-changes.repository';
import { decodeObjectContinue, encodeObjectContinue } from './object-continue-token';
import {
  CHANGES_DEFAULT_LIMIT,
  CHANGES_MAX_LIMIT,
  JsonObject,
  LIST_DEFAULT_LIMIT,
  LIST_MAX_LIMIT,
  MAX_CHANGE_RESOURCES,
  ObjectKey,
  badRequest,
  checkCreate,
  checkKey,
  checkNamespace,
  checkPreconditions,
  checkResource,
  checkUpdate,
  keyOfObject,
  objectErrors,
  pageLimit,
  parseRevision,
  stampCreated,
  stampUpdated,
  withResourceVersion,
} from './object-rules';
import { ObjectSealer } from './object-sealer';
import { ObjectRow, ObjectsRepository } from './objects.repository';
import { SEALED_KEY, SealedValue, SecretPart, isSealedResource, sealedValueOf, splitSealed, withSecret, withoutSealed } from './sealed-fields';

/** A unit of work whose transactions read one snapshot (REPEATABLE READ): a list and its revision agree. */
export const SNAPSHOT_UNIT_OF_WORK = Symbol('registry.objects.snapshot-unit-of-work');
/** However old, the newest changes stay, so a follower that is a little behind is not sent back to list. */
export const KEEP_AT_LEAST = 1000;

/** What a read returns: never the sealed part of an object (ADR 0034). */
const stored = (row: Pick<ObjectRow, 'resource' | 'namespace' | 'name' | 'resourceVersion' | 'object'>): StoredObject => ({
  resource: row.resource,
  namespace: row.namespace,
  name: row.name,
  resourceVersion: row.resourceVersion,
  object: isSealedResource(row.resource) ? withoutSealed(row.object) : row.object,
});

/** The row of `objects`: the object in the clear plus its sealed part, if any. */
const withSealed = (object: JsonObject, sealed: SealedValue | undefined): JsonObject => (sealed ? { ...object, [SEALED_KEY]: sealed } : object);

/** A written object of a sealed resource is split: the clear object and the secret part (ADR 0034). */
function split(resource: string, name: string, object: JsonObject): { object: JsonObject; metadata: JsonObject; secret?: SecretPart } {
  if (!isSealedResource(resource)) return { object, metadata: (object.metadata ?? {}) as JsonObject };
  const parts = splitSealed(resource, name, object);
  return { object: parts.object, metadata: parts.object.metadata as JsonObject, secret: parts.secret };
}

/**
 * The generic object store: Kubernetes-shaped objects of any resource, with one revision sequence
 * shared with the change log. Every write and its change commit in one transaction; revisions
 * are taken under the writers' lock after every check, so they are committed in order.
 */
@Injectable()
export class ObjectsService implements OnModuleInit {
  constructor(
    private readonly objects: ObjectsRepository,
    private readonly changes: ObjectChangesRepository,
    private readonly sealer: ObjectSealer,
    private readonly uow: UnitOfWork,
    @Inject(SNAPSHOT_UNIT_OF_WORK) private readonly snapshot: UnitOfWork,
    private readonly prune: PruneScheduler,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: RegistryConfig,
  ) {}

  onModuleInit(): void {
    // Same window as the clusters' change log: how far back a follower may resume.
    this.prune.register('object-changes', () => this.changes.prune(this.config.WATCH_RETENTION_SECONDS, KEEP_AT_LEAST));
  }

  create(resource: string, input: unknown, namespace = ''): Promise<StoredObject> {
    const keyed = keyOfObject(resource, input, namespace);
    const key = keyed.key;
    // Checked before the transaction, so a refused object takes no revision.
    checkCreate(key, keyed.metadata);
    const { object, metadata, secret } = split(resource, key.name, keyed.object);
    return this.uow.run(async (tx) => {
      // Under the writers' lock no other create of this key is in flight: a taken name is seen here.
      await this.changes.lockWriters(tx);
      if (await this.objects.exists(tx, key)) throw objectErrors.alreadyExists(key);
      const revision = await this.changes.nextRevision(tx);
      const uid = randomUUID();
      const out = stampCreated(key, object, metadata, uid, revision, this.clock.now());
      // The sealed part goes to `objects` only: the change log holds the object in the clear.
      await this.objects.insert(tx, key, uid, revision, withSealed(out, secret && this.sealer.seal(key, uid, secret)));
      await this.changes.append(tx, 'ADDED', key, revision, out);
      return stored({ ...key, resourceVersion: revision, object: out });
    });
  }

  update(resource: string, input: unknown, namespace = ''): Promise<StoredObject> {
    const keyed = keyOfObject(resource, input, namespace);
    const key = keyed.key;
    const { object, metadata, secret } = split(resource, key.name, keyed.object);
    return this.uow.run(async (tx) => {
      const current = await this.objects.findForUpdate(tx, key);
      if (!current) throw objectErrors.notFound(key);
      checkUpdate(key, metadata, current.object);
      const sealing = isSealedResource(resource) ? this.sealer.forUpdate(key, current.object, secret) : { changed: false };
      const revision = await this.changes.nextRevision(tx);
      const out = stampUpdated(key, object, metadata, withoutSealed(current.object), revision, sealing.changed);
      await this.objects.update(tx, key, revision, (out.metadata as JsonObject).generation as number, withSealed(out, sealing.sealed));
      await this.changes.append(tx, 'MODIFIED', key, revision, out);
      return stored({ ...key, resourceVersion: revision, object: out });
    });
  }

  /** Deletes and returns the last state, at the revision of the deletion (as a Kubernetes watch shows a DELETED object). */
  delete(resource: string, name: string, namespace = '', preconditions?: { uid?: string; resourceVersion?: string }): Promise<StoredObject> {
    const key: ObjectKey = { resource, namespace, name };
    checkKey(key);
    return this.uow.run(async (tx) => {
      const current = await this.objects.findForUpdate(tx, key);
      if (!current) throw objectErrors.notFound(key);
      checkPreconditions(key, current.object, preconditions);
      const revision = await this.changes.nextRevision(tx);
      const last = withResourceVersion(isSealedResource(resource) ? withoutSealed(current.object) : current.object, revision);
      await this.objects.remove(tx, key);
      await this.changes.append(tx, 'DELETED', key, revision, last);
      return stored({ ...key, resourceVersion: revision, object: last });
    });
  }

  async get(resource: string, name: string, namespace = ''): Promise<StoredObject> {
    const key: ObjectKey = { resource, namespace, name };
    checkKey(key);
    const row = await this.objects.find(key);
    if (!row) throw objectErrors.notFound(key);
    return stored(row);
  }

  /**
   * The full plaintext object of a sealed resource: its sealed part back in its template. Only for
   * the caller that places it in members (federation-sync, by the caller table); BadRequest for a
   * resource that seals nothing.
   */
  async unseal(resource: string, name: string, namespace = ''): Promise<StoredObject> {
    const key: ObjectKey = { resource, namespace, name };
    checkKey(key);
    if (!isSealedResource(resource)) throw badRequest('resource', `${resource} holds no sealed fields: read it with GetObject`);
    const row = await this.objects.find(key);
    if (!row) throw objectErrors.notFound(key);
    const sealed = sealedValueOf(row.object);
    const secret = sealed ? this.sealer.openForCaller(key, row.object, sealed) : undefined;
    return { ...stored(row), object: withSecret(row.object, secret) };
  }

  list(resource: string, options: { namespace?: string; limit?: number; continue?: string } = {}): Promise<ObjectListPage> {
    checkResource(resource);
    const namespace = options.namespace ?? '';
    checkNamespace(resource, '', namespace);
    const limit = pageLimit(options.limit, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT);
    const token = options.continue ? decodeObjectContinue(options.continue, resource, namespace) : undefined;
    return this.snapshot.run(async (tx) => {
      // One snapshot: the revision is exactly the state the first page shows; later pages report it too.
      const revision = token?.rv ?? (await this.changes.currentRevision(tx));
      const rows = await this.objects.page(tx, { resource, namespace, after: token && { namespace: token.ns, name: token.n }, limit });
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      const page: ObjectListPage = { items: items.map(stored), revision };
      if (rows.length > limit && last) page.continue = encodeObjectContinue({ r: resource, f: namespace, ns: last.namespace, n: last.name, rv: revision });
      return page;
    });
  }

  /** The newest committed revision ('0' before the first write). */
  headRevision(): Promise<string> {
    return this.snapshot.run((tx) => this.changes.currentRevision(tx));
  }

  changesSince(since: string, options: { resources?: string[]; limit?: number } = {}): Promise<ObjectChangePage> {
    const from = parseRevision(since, 'since');
    const resources = [...new Set(options.resources ?? [])];
    if (resources.length > MAX_CHANGE_RESOURCES) throw badRequest('resources', `at most ${MAX_CHANGE_RESOURCES} resources per call`);
    resources.forEach(checkResource);
    const limit = pageLimit(options.limit, CHANGES_DEFAULT_LIMIT, CHANGES_MAX_LIMIT);
    return this.snapshot.run(async (tx) => {
      const current = await this.changes.currentRevision(tx);
      const oldest = await this.changes.oldestRevision(tx);
      // The log holds (oldest - 1, current]: from further back, or from a revision this store never reached, list again.
      if ((oldest !== undefined && from < BigInt(oldest) - 1n) || from > BigInt(current)) throw objectErrors.gone(since);
      const rows = await this.changes.between(tx, since, current, resources, limit);
      // A full page may not be all: the next call resumes after its last change, never after `current`.
      const revision = rows.length === limit ? rows[rows.length - 1]!.revision : current;
      return {
        changes: rows.map((r) => ({ type: r.type, revision: r.revision, object: stored({ ...r, resourceVersion: r.revision }) })),
        revision,
      };
    });
  }
}
