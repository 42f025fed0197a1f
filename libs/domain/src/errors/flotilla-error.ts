/**
 * Domain errors. Domain code throws these; each edge (REST, gRPC, queue) maps them
 * in exactly one place. The reasons are Kubernetes StatusReasons so the REST edge
 * can pass them through unchanged.
 */
export enum ErrorReason {
  BadRequest = 'BadRequest',
  Invalid = 'Invalid',
  NotFound = 'NotFound',
  AlreadyExists = 'AlreadyExists',
  Conflict = 'Conflict',
  Unauthorized = 'Unauthorized',
  Forbidden = 'Forbidden',
  Gone = 'Expired',
  RequestEntityTooLarge = 'RequestEntityTooLarge',
  UnsupportedMediaType = 'UnsupportedMediaType',
  MethodNotAllowed = 'MethodNotAllowed',
  /** A per-caller limit (open watches, streams) refused the request; retry after details.retryAfterSeconds. */
  TooManyRequests = 'TooManyRequests',
  ServiceUnavailable = 'ServiceUnavailable',
  Timeout = 'Timeout',
  InternalError = 'InternalError',
}

/** One reason for an Invalid or BadRequest error, naming the field (a Kubernetes StatusCause). */
export interface ErrorCause {
  /** Kubernetes CauseType: FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, FieldValueDuplicate, FieldValueForbidden, FieldValueTooLong. */
  reason: string;
  message: string;
  field: string;
}

export interface ErrorDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: ErrorCause[];
  retryAfterSeconds?: number;
}

export class FlotillaError extends Error {
  constructor(
    readonly reason: ErrorReason,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = 'FlotillaError';
  }

  static isFlotillaError(value: unknown): value is FlotillaError {
    return value instanceof FlotillaError;
  }

  /**
   * A refusal past a limit, in the Kubernetes API server's words for 429 followed by the specific
   * reason (which limit, and what to do), with the wait the edge sends as Retry-After.
   */
  static tooManyRequests(why: string, retryAfterSeconds = 1, details: Omit<ErrorDetails, 'retryAfterSeconds'> = {}): FlotillaError {
    return new FlotillaError(ErrorReason.TooManyRequests, `${TOO_MANY_REQUESTS_MESSAGE} ${why}`, { ...details, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) });
  }

  /**
   * Worth another attempt later: the dependency did not answer (ServiceUnavailable, Timeout) or a
   * limit refused for now (TooManyRequests). Anything that is not a FlotillaError is not judged here.
   */
  static isRetryable(error: unknown): error is FlotillaError {
    return error instanceof FlotillaError && RETRYABLE.has(error.reason);
  }

  /** How long to wait before retrying: the error's retryAfterSeconds when it names one, else `fallbackMs`. */
  static retryAfterMs(error: unknown, fallbackMs: number): number {
    const seconds = error instanceof FlotillaError ? error.details.retryAfterSeconds : undefined;
    return seconds !== undefined && Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : fallbackMs;
  }
}

/** The Kubernetes API server's message for 429 (its max-in-flight filter). */
export const TOO_MANY_REQUESTS_MESSAGE = 'Too many requests, please try again later.';

const RETRYABLE: ReadonlySet<ErrorReason> = new Set([ErrorReason.ServiceUnavailable, ErrorReason.Timeout, ErrorReason.TooManyRequests]);

/** HTTP code for each reason, as the Kubernetes API server uses them. */
export const httpCodeForReason: Readonly<Record<ErrorReason, number>> = {
  [ErrorReason.BadRequest]: 400,
  [ErrorReason.Invalid]: 422,
  [ErrorReason.NotFound]: 404,
  [ErrorReason.AlreadyExists]: 409,
  [ErrorReason.Conflict]: 409,
  [ErrorReason.Unauthorized]: 401,
  [ErrorReason.Forbidden]: 403,
  [ErrorReason.Gone]: 410,
  [ErrorReason.RequestEntityTooLarge]: 413,
  [ErrorReason.UnsupportedMediaType]: 415,
  [ErrorReason.MethodNotAllowed]: 405,
  [ErrorReason.TooManyRequests]: 429,
  [ErrorReason.ServiceUnavailable]: 503,
  [ErrorReason.Timeout]: 504,
  [ErrorReason.InternalError]: 500,
};
