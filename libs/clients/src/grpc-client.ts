import { ChannelCredentials, Metadata } from '@grpc/grpc-js';
import { ClientGrpcProxy } from '@nestjs/microservices';
import { Observable, lastValueFrom } from 'rxjs';
import { PROTO_LOADER_OPTIONS, fromGrpcError, protoPath, protoRoot } from '@flotilla/contracts';
import { REQUEST_ID_HEADER, currentRequestId } from '@flotilla/observability';

export interface GrpcServiceDefinition {
  package: string;
  protoFile: string;
  service: string;
}

/** How this process calls other Flotilla services: its own identity, and TLS when internal mTLS is on. */
export interface InternalCallDefaults {
  /** This service's own FLOTILLA_INTERNAL_TOKEN: the server tells the caller's identity from it. */
  internalToken?: string;
  /** Internal mTLS: channel credentials that verify the server and present this service's certificate. */
  credentials?: ChannelCredentials;
}

let processDefaults: InternalCallDefaults = {};

/**
 * Sets the identity and transport every client of this process uses unless told otherwise.
 * service-kit calls it at start from the service's configuration, before any client is built.
 */
export function configureInternalCalls(defaults: InternalCallDefaults): void {
  processDefaults = { ...defaults };
}

/** The process's internal-call settings (for a client built outside GrpcServiceClient, e.g. readiness checks). */
export function internalCallDefaults(): Readonly<InternalCallDefaults> {
  return processDefaults;
}

export interface GrpcServiceClientOptions extends InternalCallDefaults {
  deadlineMs?: number;
  upstream: string;
}

/**
 * One gRPC service as another Flotilla service calls it: request ids and the caller's internal
 * identity travel in the metadata of every call, every unary call has a deadline, and errors come
 * back as the domain errors the server threw. Under internal mTLS the channel verifies the server
 * against the internal CA and presents this service's certificate (renewed files are used for new
 * connections without a restart). Identity and credentials not given default to the process's
 * (configureInternalCalls), taken when the client is built.
 */
/** The HTTP/2 flow-control window of every internal gRPC channel (connection and streams). */
const GRPC_WINDOW_BYTES = 4 * 1024 * 1024;

export class GrpcServiceClient<S extends object> {
  private readonly proxy: ClientGrpcProxy;
  private readonly internalToken?: string;
  readonly service: S;

  constructor(
    target: string,
    definition: GrpcServiceDefinition,
    private readonly options: GrpcServiceClientOptions,
  ) {
    this.internalToken = options.internalToken ?? processDefaults.internalToken;
    const credentials = options.credentials ?? processDefaults.credentials;
    this.proxy = new ClientGrpcProxy({
      url: target,
      package: definition.package,
      protoPath: protoPath(definition.protoFile),
      loader: { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot()] },
      // A 4 MiB HTTP/2 window instead of 64 KiB: a credential batch (up to about 3 MiB) or a fleet
      // page arrives without a window update per 64 KiB, each waiting for this process's event loop.
      // At a 10,000-cluster cold start that loop is busy with TLS handshakes, and batches read at
      // 64 KiB a turn passed their 10 s deadline.
      channelOptions: { 'grpc.keepalive_time_ms': 30_000, 'grpc-node.flow_control_window': GRPC_WINDOW_BYTES },
      ...(credentials ? { credentials } : {}),
    } as ConstructorParameters<typeof ClientGrpcProxy>[0]);
    this.service = this.proxy.getService<S>(definition.service);
  }

  /**
   * Request id and internal identity. Every method of every service needs the identity now
   * (docs/security.md), so it is always sent; `withToken` is kept for callers written before.
   */
  metadata(_withToken?: boolean): Metadata {
    const m = new Metadata();
    const requestId = currentRequestId();
    if (requestId) m.set(REQUEST_ID_HEADER, requestId);
    if (this.internalToken) m.set('authorization', `Bearer ${this.internalToken}`);
    return m;
  }

  /** `_withToken` is ignored: the identity goes with every call (see metadata()). */
  async unary<Req, Res>(method: (request: Req, metadata?: Metadata) => Observable<Res>, request: Req, _withToken?: boolean): Promise<Res> {
    const call = method as unknown as (request: Req, metadata: Metadata, options: { deadline: number }) => Observable<Res>;
    try {
      return await lastValueFrom(call.call(this.service, request, this.metadata(), { deadline: Date.now() + (this.options.deadlineMs ?? 10_000) }));
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
