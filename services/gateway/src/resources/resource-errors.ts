import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { ResourceKind, qualifiedResourceOf } from './resource-kind';

/** The API server's messages for store errors, naming the resource and object. */
export function asApiError(kind: ResourceKind, name: string, error: unknown): unknown {
  if (!(error instanceof FlotillaError)) return error;
  const details = { name, group: kind.group, kind: kind.plural };
  const what = `${qualifiedResourceOf(kind)} "${name}"`;
  switch (error.reason) {
    case ErrorReason.NotFound:
      return new FlotillaError(ErrorReason.NotFound, `${what} not found`, details);
    case ErrorReason.AlreadyExists:
      return new FlotillaError(ErrorReason.AlreadyExists, `${what} already exists`, details);
    case ErrorReason.Conflict:
      return new FlotillaError(
        ErrorReason.Conflict,
        `Operation cannot be fulfilled on ${what}: the object has been modified; please apply your changes to the latest version and try again`,
        details,
      );
    default:
      return error;
  }
}

/** kube-apiserver's answer to a write in a namespace that does not exist. */
export function namespaceNotFound(namespace: string): FlotillaError {
  return new FlotillaError(ErrorReason.NotFound, `namespaces "${namespace}" not found`, { name: namespace, group: '', kind: 'namespaces' });
}

export function isNotFound(error: unknown): boolean {
  return error instanceof FlotillaError && error.reason === ErrorReason.NotFound;
}

/** A failed delete precondition, worded as kube-apiserver's. */
export function preconditionFailed(kind: ResourceKind, name: string, what: 'UID' | 'ResourceVersion', wanted: string, actual: unknown): FlotillaError {
  return new FlotillaError(
    ErrorReason.Conflict,
    `Operation cannot be fulfilled on ${qualifiedResourceOf(kind)} "${name}": Precondition failed: ${what} in precondition: ${wanted}, ${what} in object meta: ${String(actual)}`,
    { name, group: kind.group, kind: kind.plural },
  );
}
