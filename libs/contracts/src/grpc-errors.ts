import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { ErrorDetails, ErrorReason, FlotillaError } from '@flotilla/domain';

/** Trailer that carries a domain error across gRPC intact (reason, message, causes). */
export const ERROR_TRAILER = 'flotilla-error-bin';

const codeForReason: Record<ErrorReason, GrpcStatus> = {
  [ErrorReason.BadRequest]: GrpcStatus.INVALID_ARGUMENT,
  [ErrorReason.Invalid]: GrpcStatus.INVALID_ARGUMENT,
  [ErrorReason.NotFound]: GrpcStatus.NOT_FOUND,
  [ErrorReason.AlreadyExists]: GrpcStatus.ALREADY_EXISTS,
  [ErrorReason.Conflict]: GrpcStatus.ABORTED,
  [ErrorReason.Unauthorized]: GrpcStatus.UNAUTHENTICATED,
  [ErrorReason.Forbidden]: GrpcStatus.PERMISSION_DENIED,
  [ErrorReason.Gone]: GrpcStatus.OUT_OF_RANGE,
  [ErrorReason.RequestEntityTooLarge]: GrpcStatus.RESOURCE_EXHAUSTED,
  [ErrorReason.UnsupportedMediaType]: GrpcStatus.INVALID_ARGUMENT,
  [ErrorReason.MethodNotAllowed]: GrpcStatus.UNIMPLEMENTED,
  // Shares RESOURCE_EXHAUSTED with RequestEntityTooLarge; the error trailer tells them apart.
  [ErrorReason.TooManyRequests]: GrpcStatus.RESOURCE_EXHAUSTED,
  [ErrorReason.ServiceUnavailable]: GrpcStatus.UNAVAILABLE,
  [ErrorReason.Timeout]: GrpcStatus.DEADLINE_EXCEEDED,
  [ErrorReason.InternalError]: GrpcStatus.INTERNAL,
};

const REASONS: ReadonlySet<string> = new Set(Object.values(ErrorReason));

/** The ErrorReason spelled `reason`, or undefined when it is not one (e.g. from a newer peer). */
export function errorReasonOf(reason: string): ErrorReason | undefined {
  return REASONS.has(reason) ? (reason as ErrorReason) : undefined;
}

export interface GrpcErrorObject {
  code: GrpcStatus;
  message: string;
  metadata: Metadata;
}

/**
 * Maps any error to what a gRPC server sends. Domain errors keep their reason and causes;
 * anything else becomes INTERNAL with a fixed message, so nothing internal leaks out.
 */
export function toGrpcError(error: unknown): GrpcErrorObject {
  const metadata = new Metadata();
  if (error instanceof FlotillaError) {
    const payload = JSON.stringify({ reason: error.reason, message: error.message, details: error.details });
    metadata.set(ERROR_TRAILER, Buffer.from(payload, 'utf8'));
    return { code: codeForReason[error.reason], message: error.message, metadata };
  }
  return { code: GrpcStatus.INTERNAL, message: 'internal error', metadata };
}

const reasonForCode: Partial<Record<GrpcStatus, ErrorReason>> = {
  [GrpcStatus.INVALID_ARGUMENT]: ErrorReason.BadRequest,
  [GrpcStatus.NOT_FOUND]: ErrorReason.NotFound,
  [GrpcStatus.ALREADY_EXISTS]: ErrorReason.AlreadyExists,
  [GrpcStatus.ABORTED]: ErrorReason.Conflict,
  [GrpcStatus.UNAUTHENTICATED]: ErrorReason.Unauthorized,
  [GrpcStatus.PERMISSION_DENIED]: ErrorReason.Forbidden,
  [GrpcStatus.OUT_OF_RANGE]: ErrorReason.Gone,
  // Without a trailer RESOURCE_EXHAUSTED comes from grpc-js itself, almost always a message over the size limit.
  // Flotilla's own TooManyRequests always carries the trailer.
  [GrpcStatus.RESOURCE_EXHAUSTED]: ErrorReason.RequestEntityTooLarge,
  [GrpcStatus.UNAVAILABLE]: ErrorReason.ServiceUnavailable,
  [GrpcStatus.DEADLINE_EXCEEDED]: ErrorReason.Timeout,
};

interface GrpcLikeError {
  code?: number;
  details?: string;
  metadata?: Metadata;
}

/** Maps an error received from a gRPC call back to the domain error it carried. */
export function fromGrpcError(error: unknown, upstream: string): FlotillaError {
  const e = (error ?? {}) as GrpcLikeError;
  const trailer = e.metadata instanceof Metadata ? e.metadata.get(ERROR_TRAILER)[0] : undefined;
  if (trailer !== undefined) {
    try {
      const parsed = JSON.parse(Buffer.isBuffer(trailer) ? trailer.toString('utf8') : String(trailer)) as {
        reason: string;
        message: string;
        details?: ErrorDetails;
      };
      const reason = errorReasonOf(parsed.reason);
      if (reason !== undefined) return new FlotillaError(reason, parsed.message, parsed.details ?? {});
    } catch {
      // fall through to the code mapping
    }
  }
  const reason = (e.code !== undefined ? reasonForCode[e.code as GrpcStatus] : undefined) ?? ErrorReason.InternalError;
  if (reason === ErrorReason.ServiceUnavailable || reason === ErrorReason.Timeout) {
    return new FlotillaError(reason, `the ${upstream} service is unavailable; retry shortly`, { retryAfterSeconds: 1 });
  }
  return new FlotillaError(reason, reason === ErrorReason.InternalError ? `the ${upstream} service failed` : (e.details ?? 'error'));
}
