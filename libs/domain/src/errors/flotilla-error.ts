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
}

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
  [ErrorReason.ServiceUnavailable]: 503,
  [ErrorReason.Timeout]: 504,
  [ErrorReason.InternalError]: 500,
};
