import { ArgumentsHost, CallHandler, Catch, ExceptionFilter, ExecutionContext, HttpException, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import type { ServerCredentials, ServerInterceptor } from '@grpc/grpc-js';
import { GrpcOptions, Transport } from '@nestjs/microservices';
import { ReflectionService } from '@grpc/reflection';
import { Observable, catchError, tap, throwError } from 'rxjs';
import { FlotillaError } from '@flotilla/domain';
import { databaseOutage } from './database-outage';
import { PROTO_LOADER_OPTIONS, healthV1, protoPath, protoRoot, toGrpcError, workerV1 } from '@flotilla/contracts';
import { REQUEST_ID_HEADER, requestIdFrom, runWithRequestContext } from '@flotilla/observability';
import { RUNTIME, ServiceRuntime } from './runtime';
import { toKubeStatus } from './status';

export interface GrpcPackage {
  package: string;
  protoFile: string;
}

/** The gRPC packages every service serves besides its own. */
export const STANDARD_GRPC_PACKAGES: GrpcPackage[] = [
  { package: healthV1.PROTOBUF_PACKAGE, protoFile: healthV1.PROTO_FILE },
  { package: workerV1.PROTOBUF_PACKAGE, protoFile: workerV1.PROTO_FILE },
];

/** How the gRPC server guards its methods: the caller check, and mTLS credentials when on. */
export interface GrpcServerSecurity {
  interceptors: ServerInterceptor[];
  credentials?: ServerCredentials;
}

/**
 * gRPC server options: the service's packages, health, server reflection, graceful shutdown.
 * `security.interceptors` go to the grpc-js Server itself (Nest passes channelOptions to its
 * constructor), so they run before every handler the server has: Nest's, reflection's, and any
 * added later.
 */
export function grpcServerOptions(url: string, packages: GrpcPackage[], security?: GrpcServerSecurity): GrpcOptions {
  const all = [...packages, ...STANDARD_GRPC_PACKAGES];
  return {
    transport: Transport.GRPC,
    options: {
      url,
      package: all.map((p) => p.package),
      protoPath: all.map((p) => protoPath(p.protoFile)),
      loader: { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot()] },
      gracefulShutdown: true,
      ...(security ? { channelOptions: { interceptors: security.interceptors } as Record<string, unknown> } : {}),
      ...(security?.credentials ? { credentials: security.credentials } : {}),
      onLoadPackageDefinition: (definition, server) => {
        new ReflectionService(definition).addToServer(server as Parameters<ReflectionService['addToServer']>[0]);
      },
    },
  };
}

/**
 * The one place where errors leave a service: gRPC handlers get a gRPC status (with the
 * domain error in a trailer), HTTP handlers a Kubernetes Status object. Unexpected errors
 * are logged here with their stack, and never sent to the caller.
 */
@Catch()
export class EdgeErrorFilter implements ExceptionFilter<unknown> {
  constructor(private readonly runtime: ServiceRuntime) {}

  catch(caught: unknown, host: ArgumentsHost): Observable<never> | void {
    const outage = databaseOutage(caught);
    if (outage) this.runtime.logger.warn({ err: caught instanceof Error ? caught.message : String(caught) }, `database unavailable in a ${host.getType()} handler`);
    const exception = outage ?? caught;
    if (!(exception instanceof FlotillaError) && !(exception instanceof HttpException) && !isClientError(exception)) {
      const err = exception instanceof Error ? exception : new Error(String(exception));
      this.runtime.logger.error({ err: { message: err.message, stack: err.stack } }, `unexpected error in a ${host.getType()} handler`);
    }
    if (host.getType() === 'rpc') return throwError(() => toGrpcError(exception));
    const res = host.switchToHttp().getResponse<Response>();
    const status = toKubeStatus(exception);
    if (res.headersSent) {
      res.end();
      return;
    }
    if (status.details?.retryAfterSeconds) res.setHeader('Retry-After', String(status.details.retryAfterSeconds));
    res.status(status.code).type('application/json').send(JSON.stringify(status));
  }
}

function isClientError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'expose' in error && (error as { expose?: boolean }).expose === true;
}

/** Request ids (from the x-request-id metadata), logs and metrics for every gRPC call. */
@Injectable()
export class GrpcObservabilityInterceptor implements NestInterceptor {
  constructor(@Inject(RUNTIME) private readonly runtime: ServiceRuntime) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'rpc') return next.handle();
    const metadata = context.getArgByIndex(1);
    const candidate = metadata instanceof Metadata ? metadata.get(REQUEST_ID_HEADER)[0] : undefined;
    const requestId = requestIdFrom(typeof candidate === 'string' ? candidate : undefined);
    const method = `${context.getClass().name}.${context.getHandler().name}`;
    const started = process.hrtime.bigint();
    const observe = (code: number) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.runtime.metrics.grpcRequests.observe({ method, code: GrpcStatus[code] ?? String(code) }, seconds);
    };
    return new Observable((subscriber) =>
      runWithRequestContext({ requestId }, () =>
        next
          .handle()
          .pipe(
            tap({ complete: () => observe(GrpcStatus.OK) }),
            catchError((error: unknown) => {
              const known = error instanceof FlotillaError ? error : databaseOutage(error);
              observe(known ? toGrpcError(known).code : GrpcStatus.INTERNAL);
              if (!known) this.runtime.logger.warn({ method }, 'gRPC call failed');
              return throwError(() => error);
            }),
          )
          .subscribe(subscriber),
      ),
    );
  }
}
