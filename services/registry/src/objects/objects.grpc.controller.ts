import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { objectsV1 } from '@flotilla/contracts';
import { parseJsonField, storedObjectToProto } from './object-json';
import { ObjectsService } from './objects.service';

const S = objectsV1.OBJECT_SERVICE_NAME;

/** flotilla.registry.objects.v1.ObjectService: maps messages in and out (objects travel as bounded JSON text). */
@Controller()
export class ObjectsGrpcController implements objectsV1.ObjectServiceController {
  constructor(private readonly objects: ObjectsService) {}

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
}
