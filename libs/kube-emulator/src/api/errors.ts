/** Kubernetes Status objects and the error type the request pipeline throws. */
import { type JsonObject } from '@flotilla/apply';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    readonly statusMetadata?: JsonObject,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  toStatus(): JsonObject {
    const status: JsonObject = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: this.statusMetadata ?? {},
      status: 'Failure',
    };
    if (this.message !== '') status.message = this.message;
    status.reason = this.reason;
    if (this.details) status.details = this.details as JsonObject;
    status.code = this.code;
    return status;
  }
}

/** resource as used in messages: `configmaps` or `deployments.apps`. */
export function qualifiedResource(resource: string, group: string): string {
  return group ? `${resource}.${group}` : resource;
}

export function notFound(resource: string, group: string, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(resource, group)} "${name}" not found`, {
    name,
    ...(group ? { group } : {}),
    kind: resource,
  });
}

export function alreadyExists(resource: string, group: string, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedResource(resource, group)} "${name}" already exists`, {
    name,
    ...(group ? { group } : {}),
    kind: resource,
  });
}

export function conflict(resource: string, group: string, name: string, why: string): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(resource, group)} "${name}": ${why}`, {
    name,
    ...(group ? { group } : {}),
    kind: resource,
  });
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export interface FieldError {
  type: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueNotSupported' | 'FieldValueForbidden' | 'FieldValueDuplicate' | 'FieldValueTooLong';
  field: string;
  /** the text after `field: ` (e.g. `Invalid value: "x": must be ...` or `Required value`). */
  detail: string;
}

export function invalid(kind: string, group: string, name: string, errors: FieldError[]): ApiError {
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  const summary = errors.map((e) => `${e.field}: ${e.detail}`);
  const message =
    summary.length === 1
      ? `${qualifiedKind} "${name}" is invalid: ${summary[0]}`
      : `${qualifiedKind} "${name}" is invalid: [${summary.join(', ')}]`;
  return new ApiError(422, 'Invalid', message, {
    name,
    ...(group ? { group } : {}),
    kind,
    causes: errors.map((e) => ({ reason: e.type, message: e.detail, field: e.field })),
  });
}

export function forbidden(resource: string, group: string, name: string | undefined, why: string): ApiError {
  const subject = name ? `${qualifiedResource(resource, group)} "${name}"` : qualifiedResource(resource, group);
  return new ApiError(403, 'Forbidden', `${subject} is forbidden: ${why}`, {
    ...(name ? { name } : {}),
    ...(group ? { group } : {}),
    kind: resource,
  });
}

export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized');
}

export function statusForCode(code: number, message?: string): ApiError {
  const reason = REASON_BY_CODE[code] ?? (code >= 500 ? 'InternalError' : 'BadRequest');
  const details: StatusDetails | undefined = code === 429 || code === 503 ? { retryAfterSeconds: 1 } : undefined;
  const text =
    message ??
    (code === 429
      ? 'Too many requests, please try again later.'
      : code === 503
        ? 'the server is currently unable to handle the request'
        : code === 504
          ? 'the server was unable to return a response in the time allotted, but may still be processing the request'
          : code === 500
            ? 'an error on the server ("") has prevented the request from succeeding'
            : reason);
  return new ApiError(code, reason, text, details, undefined, code === 429 || code === 503 ? { 'Retry-After': '1' } : undefined);
}

export function successStatus(details: StatusDetails): JsonObject {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: details as JsonObject };
}
