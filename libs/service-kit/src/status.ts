import { HttpException } from '@nestjs/common';
import { ErrorReason, FlotillaError, httpCodeForReason } from '@flotilla/domain';

/** A Kubernetes Status object (meta/v1), the body of every error response. */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { reason: string; message: string; field: string }[];
    retryAfterSeconds?: number;
  };
  code: number;
}

const reasonForHttp: Record<number, ErrorReason> = {
  400: ErrorReason.BadRequest,
  401: ErrorReason.Unauthorized,
  403: ErrorReason.Forbidden,
  404: ErrorReason.NotFound,
  405: ErrorReason.MethodNotAllowed,
  409: ErrorReason.Conflict,
  410: ErrorReason.Gone,
  413: ErrorReason.RequestEntityTooLarge,
  415: ErrorReason.UnsupportedMediaType,
  422: ErrorReason.Invalid,
  429: ErrorReason.TooManyRequests,
  503: ErrorReason.ServiceUnavailable,
  504: ErrorReason.Timeout,
};

/** Maps any error to a Status. Unknown errors become a generic InternalError: no stack, no internals. */
export function toKubeStatus(error: unknown): KubeStatus {
  let flotilla: FlotillaError;
  if (error instanceof FlotillaError) flotilla = error;
  else if (error instanceof HttpException) {
    const code = error.getStatus();
    const reason = reasonForHttp[code] ?? (code >= 500 ? ErrorReason.InternalError : ErrorReason.BadRequest);
    const response = error.getResponse();
    const message =
      code === 404 ? 'the server could not find the requested resource' : typeof response === 'string' ? response : error.message;
    flotilla = reason === ErrorReason.TooManyRequests ? FlotillaError.tooManyRequests(message) : new FlotillaError(reason, message);
  } else if (isBodyParserError(error)) {
    flotilla =
      error.type === 'entity.too.large'
        ? new FlotillaError(ErrorReason.RequestEntityTooLarge, `the request body is larger than the limit of ${error.limit ?? 'the server'} bytes`)
        : new FlotillaError(ErrorReason.BadRequest, `the request body could not be read: ${error.type === 'entity.parse.failed' ? 'it is not valid JSON' : error.type}`);
  } else {
    flotilla = new FlotillaError(ErrorReason.InternalError, 'an internal error occurred; the request id in the X-Request-Id header identifies it in the logs');
  }
  const status: KubeStatus = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: flotilla.message,
    reason: flotilla.reason,
    code: httpCodeForReason[flotilla.reason],
  };
  // A 429 always says when to come back (the edge sends it as Retry-After too), as kube-apiserver does.
  const details = flotilla.reason === ErrorReason.TooManyRequests && !flotilla.details.retryAfterSeconds ? { ...flotilla.details, retryAfterSeconds: 1 } : flotilla.details;
  if (Object.keys(details).length > 0) status.details = details;
  return status;
}

function isBodyParserError(error: unknown): error is { type: string; limit?: number } {
  return typeof error === 'object' && error !== null && typeof (error as { type?: unknown }).type === 'string' && 'expose' in error;
}
