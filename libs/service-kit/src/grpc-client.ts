import { Metadata } from '@grpc/grpc-js';
import { ClientGrpcProxy } from '@nestjs/microservices';
import { Observable, lastValueFrom } from 'rxjs';
import { PROTO_LOADER_OPTIONS, fromGrpcError, protoPath, protoRoot } from '@flotilla/contracts';
import { REQUEST_ID_HEADER, currentRequestId } from '@flotilla/observability';

export interface GrpcServiceDefinition {
  package: string;
  protoFile: string;
  service: string;
}

/**
 * One gRPC service as another Flotilla service calls it: request ids travel along in the
 * metadata, the internal token when asked, every unary call has a deadline, and errors come
 * back as the domain errors the server threw.
 */
export class GrpcServiceClient<S extends object> {
  private readonly proxy: ClientGrpcProxy;
  readonly service: S;

  constructor(
    target: string,
    definition: GrpcServiceDefinition,
    private readonly options: { internalToken?: string; deadlineMs?: number; upstream: string },
  ) {
    this.proxy = new ClientGrpcProxy({
      url: target,
      package: definition.package,
      protoPath: protoPath(definition.protoFile),
      loader: { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot()] },
      channelOptions: { 'grpc.keepalive_time_ms': 30_000 },
    } as ConstructorParameters<typeof ClientGrpcProxy>[0]);
    this.service = this.proxy.getService<S>(definition.service);
  }

  metadata(withToken = false): Metadata {
    const m = new Metadata();
    const requestId = currentRequestId();
    if (requestId) m.set(REQUEST_ID_HEADER, requestId);
    if (withToken && this.options.internalToken) m.set('authorization', `Bearer ${this.options.internalToken}`);
    return m;
  }

  async unary<Req, Res>(method: (request: Req, metadata?: Metadata) => Observable<Res>, request: Req, withToken = false): Promise<Res> {
    const call = method as unknown as (request: Req, metadata: Metadata, options: { deadline: number }) => Observable<Res>;
    try {
      return await lastValueFrom(call.call(this.service, request, this.metadata(withToken), { deadline: Date.now() + (this.options.deadlineMs ?? 10_000) }));
    } catch (error) {
      throw fromGrpcError(error, this.options.upstream);
    }
  }

  /** A server stream; unsubscribing cancels the call. Errors arrive as domain errors. */
  stream<Req, Res>(method: (request: Req, metadata?: Metadata) => Observable<Res>, request: Req): Observable<Res> {
    return new Observable<Res>((subscriber) => {
      const sub = method.call(this.service, request, this.metadata()).subscribe({
        next: (e) => subscriber.next(e),
        error: (error: unknown) => subscriber.error(fromGrpcError(error, this.options.upstream)),
        complete: () => subscriber.complete(),
      });
      return () => sub.unsubscribe();
    });
  }

  close(): void {
    this.proxy.close();
  }
}
