import { Observable } from 'rxjs';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { fromGrpcError, objectsV1 } from '@flotilla/contracts';
import { ParseLimitError, parseJsonBounded } from '@flotilla/parsing';
import { GrpcServiceClient } from './grpc-client';
import type { ObjectChange, ObjectChangePage, ObjectListPage, ObjectStore, StoredObject } from './object-store';

/** What the registry accepts per object; checked here too, so a caller learns it without sending megabytes. */
export const MAX_OBJECT_JSON_BYTES = 1024 * 1024;
/** An object as the registry answers it: the caller's object plus the metadata the registry set. */
const MAX_ANSWER_JSON_BYTES = 2 * 1024 * 1024;
const CHANGE_TYPES: readonly string[] = ['ADDED', 'MODIFIED', 'DELETED'];
const REVISION = /^[0-9]{1,19}$/;
/** grpc-js status UNIMPLEMENTED: a registry from before WatchObjectChanges. */
const GRPC_UNIMPLEMENTED = 12;

/** Encodes an object to send; over the limit is Invalid naming `object`, as the registry would answer. */
export function objectJson(object: unknown, field = 'object', maxBytes = MAX_OBJECT_JSON_BYTES): string {
  const text = JSON.stringify(object);
  if (text === undefined) throw new FlotillaError(ErrorReason.Invalid, `${field}: must be JSON`, { causes: [{ reason: 'FieldValueInvalid', field, message: 'must be JSON' }] });
  if (text.length > maxBytes / 3 && Buffer.byteLength(text, 'utf8') > maxBytes) {
    const message = `must be at most ${maxBytes / (1024 * 1024)} MiB of JSON`;
    throw new FlotillaError(ErrorReason.Invalid, `${field}: ${message}`, { causes: [{ reason: 'FieldValueTooLong', field, message }] });
  }
  return text;
}

/** Reads JSON text the registry sent, bounded like every outside read; a malformed answer is the registry's failure. */
export function answerJson(text: string | undefined, what: string): Record<string, unknown> {
  try {
    const value = parseJsonBounded(text ?? '', what, { maxBytes: MAX_ANSWER_JSON_BYTES });
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof ParseLimitError)) throw error;
  }
  throw new FlotillaError(ErrorReason.InternalError, `the registry service answered ${what} that is not a JSON object`);
}

function changesFromProto(out: objectsV1.ObjectChangeList): ObjectChangePage {
  const changes = (out.changes ?? []).map((c): ObjectChange => {
    if (!CHANGE_TYPES.includes(c.type ?? '')) throw new FlotillaError(ErrorReason.InternalError, `the registry service answered a change of unknown type "${String(c.type).slice(0, 20)}"`);
    return { type: c.type as ObjectChange['type'], revision: c.revision ?? '', object: fromProto(c.object) };
  });
  return { changes, revision: out.revision ?? '' };
}

function fromProto(m: objectsV1.StoredObject | undefined): StoredObject {
  return {
    resource: m?.resource ?? '',
    namespace: m?.namespace ?? '',
    name: m?.name ?? '',
    resourceVersion: m?.resourceVersion ?? '',
    object: answerJson(m?.objectJson, 'an object'),
  };
}

/**
 * The registry's generic object store (flotilla.registry.objects.v1.ObjectService) as an
 * ObjectStore: objects go as JSON text, answers come back as StoredObjects, errors as the
 * FlotillaError the registry threw (NotFound, AlreadyExists, Conflict, Gone, Invalid, ...).
 */
export class ObjectsClient implements ObjectStore {
  private readonly grpc: GrpcServiceClient<objectsV1.ObjectServiceClient>;

  /** `internalToken` defaults to the process's own identity (configureInternalCalls). */
  constructor(target: string, internalToken?: string, deadlineMs = 10_000) {
    this.grpc = new GrpcServiceClient(
      target,
      { package: objectsV1.PROTOBUF_PACKAGE, protoFile: objectsV1.PROTO_FILE, service: objectsV1.OBJECT_SERVICE_NAME },
      { internalToken, deadlineMs, upstream: 'registry' },
    );
  }

  async create(resource: string, object: Record<string, unknown>, namespace?: string): Promise<StoredObject> {
    return fromProto(await this.grpc.unary(this.grpc.service.createObject, { resource, namespace: namespace ?? '', objectJson: objectJson(object) }));
  }

  async update(resource: string, object: Record<string, unknown>, namespace?: string): Promise<StoredObject> {
    return fromProto(await this.grpc.unary(this.grpc.service.updateObject, { resource, namespace: namespace ?? '', objectJson: objectJson(object) }));
  }

  async delete(resource: string, name: string, namespace?: string, preconditions?: { resourceVersion?: string; uid?: string }): Promise<StoredObject> {
    const request = { resource, name, namespace: namespace ?? '', preconditions: { uid: preconditions?.uid ?? '', resourceVersion: preconditions?.resourceVersion ?? '' } };
    return fromProto(await this.grpc.unary(this.grpc.service.deleteObject, request));
  }

  async get(resource: string, name: string, namespace?: string): Promise<StoredObject> {
    return fromProto(await this.grpc.unary(this.grpc.service.getObject, { resource, name, namespace: namespace ?? '' }));
  }

  async list(resource: string, options: { namespace?: string; limit?: number; continue?: string } = {}): Promise<ObjectListPage> {
    const out = await this.grpc.unary(this.grpc.service.listObjects, { resource, namespace: options.namespace ?? '', limit: options.limit ?? 0, continue: options.continue ?? '' });
    const page: ObjectListPage = { items: (out.items ?? []).map(fromProto), revision: out.revision ?? '' };
    if (out.continue) page.continue = out.continue;
    return page;
  }

  async changes(since: string, options: { resources?: string[]; limit?: number } = {}): Promise<ObjectChangePage> {
    return changesFromProto(await this.grpc.unary(this.grpc.service.listObjectChanges, { since, resources: options.resources ?? [], limit: options.limit ?? 0 }));
  }

  /**
   * The changes after `since` pushed as they commit (WatchObjectChanges, ADR 0036): pages in
   * revision order, an empty one being a bookmark. Unsubscribing cancels the stream. Errors are
   * domain errors: Gone (list again), ServiceUnavailable/TooManyRequests (resume from the last
   * revision later), and MethodNotAllowed when the registry does not serve the method (poll).
   */
  watchChanges(since: string, options: { resources?: string[] } = {}): Observable<ObjectChangePage> {
    return new Observable<ObjectChangePage>((subscriber) => {
      const sub = this.grpc.service.watchObjectChanges({ since, resources: options.resources ?? [] }, this.grpc.metadata()).subscribe({
        next: (message) => {
          try {
            const page = changesFromProto(message);
            if (!REVISION.test(page.revision)) throw new FlotillaError(ErrorReason.InternalError, 'the registry service answered a change batch without a revision');
            subscriber.next(page);
          } catch (error) {
            subscriber.error(error);
          }
        },
        error: (error: unknown) => {
          const mapped = fromGrpcError(error, 'registry');
          const unimplemented = (error as { code?: number } | undefined)?.code === GRPC_UNIMPLEMENTED && mapped.reason === ErrorReason.InternalError;
          subscriber.error(unimplemented ? new FlotillaError(ErrorReason.MethodNotAllowed, 'the registry does not serve WatchObjectChanges (older than ADR 0036): poll ListObjectChanges') : mapped);
        },
        complete: () => subscriber.complete(),
      });
      return () => sub.unsubscribe();
    });
  }

  async unseal(resource: string, name: string, namespace?: string): Promise<StoredObject> {
    return fromProto(await this.grpc.unary(this.grpc.service.unsealObject, { resource, name, namespace: namespace ?? '' }));
  }

  close(): void {
    this.grpc.close();
  }
}
