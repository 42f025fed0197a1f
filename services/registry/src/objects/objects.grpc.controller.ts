import { Controller, Inject } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { Metadata } from '@grpc/grpc-js';
import { Observable, from, mergeMap, throwError } from 'rxjs';
import { objectsV1 } from '@flotilla/contracts';
import { callerIdentityOf } from '@flotilla/service-kit';
import { WritableCall, writeBounded } from '../clusters/bounded-call';
import { CallerStreams, WATCH_LIMITS, WatchLimits, watchCaller } from '../clusters/watch-limits';
import { ObjectChangeHub } from './object-change-hub';
import { changeBatches, parseJsonField, storedObjectToProto } from './object-json';
import { ObjectsService } from './objects.service';

const S = objectsV1.OBJECT_SERVICE_NAME;
/**
 * Messages (batches of up to ~1 MiB) a stream may hold unsent; the watch limit counts events of
 * a few KiB, so a stream of batches keeps the smaller of the two.
 */
const MAX_BUFFERED_BATCHES = 64;

/** flotilla.registry.objects.v1.ObjectService: maps messages in and out (objects travel as bounded JSON text). */
@Controller()
export class ObjectsGrpcController implements objectsV1.ObjectServiceController {
  /** Open WatchObjectChanges streams per caller: the registry's watch limit, counted apart from WatchClusters. */
  private readonly callers: CallerStreams;

  constructor(
    private readonly objects: ObjectsService,
    private readonly hub: ObjectChangeHub,
    @Inject(WATCH_LIMITS) private readonly limits: WatchLimits,
  ) {
    this.callers = new CallerStreams(limits.maxPerCaller);
  }

  @GrpcMethod(S, 'CreateObject')
  async createObject(r: objectsV1.CreateObjectRequest): Promise<objectsV1.StoredObject> {
    return storedObjectToProto(await this.objects.create(r.resource ?? '', parseJsonField(r.objectJson ?? '', 'object'), r.namespace ?? ''));
  }

  @GrpcMethod(S, 'UpdateObject')
  async updateObject(r: objectsV1.UpdateObjectRequest): Promise<objectsV1.StoredObject> {
    return storedObjectToProto(await this.objects.update(r.resource ?? '', parseJsonField(r.objectJson ?? '', 'object'), r.namespace ?? ''));
  }

  @GrpcMethod(S, 'DeleteObject')
  async deleteObject(r: objectsV1.DeleteObjectRequest): Promise<objectsV1.StoredObject> {
    const p = r.preconditions ?? {};
    return storedObjectToProto(await this.objects.delete(r.resource ?? '', r.name ?? '', r.namespace ?? '', { uid: p.uid || undefined, resourceVersion: p.resourceVersion || undefined }));
  }

  @GrpcMethod(S, 'GetObject')
  async getObject(r: objectsV1.GetObjectRequest): Promise<objectsV1.StoredObject> {
    return storedObjectToProto(await this.objects.get(r.resource ?? '', r.name ?? '', r.namespace ?? ''));
  }

  /** Callable by federation-sync only (auth/callers.ts): the one read that returns sealed fields. */
  @GrpcMethod(S, 'UnsealObject')
  async unsealObject(r: objectsV1.UnsealObjectRequest): Promise<objectsV1.StoredObject> {
    return storedObjectToProto(await this.objects.unseal(r.resource ?? '', r.name ?? '', r.namespace ?? ''));
  }

  @GrpcMethod(S, 'ListObjects')
  async listObjects(r: objectsV1.ListObjectsRequest): Promise<objectsV1.ObjectList> {
    const page = await this.objects.list(r.resource ?? '', { namespace: r.namespace ?? '', limit: r.limit || undefined, continue: r.continue || undefined });
    return { items: page.items.map(storedObjectToProto), revision: page.revision, continue: page.continue ?? '' };
  }

  @GrpcMethod(S, 'ListObjectChanges')
  async listObjectChanges(r: objectsV1.ListObjectChangesRequest): Promise<objectsV1.ObjectChangeList> {
    const page = await this.objects.changesSince(r.since ?? '', { resources: r.resources ?? [], limit: r.limit || undefined });
    return { changes: page.changes.map((c) => ({ type: c.type, revision: c.revision, object: storedObjectToProto(c.object) })), revision: page.revision };
  }

  /**
   * Changes pushed as they commit (ADR 0036). Bounded as WatchClusters is: a slot per caller
   * (FLOTILLA_MAX_WATCHES_PER_CALLER), an idle end, and a bound on what waits unsent.
   */
  @GrpcMethod(S, 'WatchObjectChanges')
  watchObjectChanges(r: objectsV1.WatchObjectChangesRequest, metadata?: Metadata, call?: WritableCall<objectsV1.ObjectChangeList>): Observable<objectsV1.ObjectChangeList> {
    let release: () => void;
    try {
      release = this.callers.acquire(watchCaller(callerIdentityOf(metadata), undefined));
    } catch (error) {
      return throwError(() => error);
    }
    const batches = (ready?: () => Promise<void>) => this.hub.watch(r.since ?? '', r.resources ?? [], ready).pipe(mergeMap((page) => from(changeBatches(page))));
    if (!call) {
      // Called in-process (no gRPC call to write to): the slot is held while subscribed.
      return new Observable<objectsV1.ObjectChangeList>((out) => {
        const sub = batches().subscribe(out);
        return () => {
          sub.unsubscribe();
          release();
        };
      });
    }
    return writeBounded(call, batches, { maxBuffered: Math.min(this.limits.maxBuffered, MAX_BUFFERED_BATCHES), idleMs: this.limits.idleMs, onEnd: release });
  }
}
