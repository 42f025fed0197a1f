import { ErrorCause, ErrorReason, FlotillaError } from './flotilla-error';

const GROUP = 'cluster.kubesphere.io';
const KIND = 'clusters';

/** Constructors for the errors of the clusters area, with Kubernetes-style messages. */
export const ClusterErrors = {
  notFound(name: string): FlotillaError {
    return new FlotillaError(ErrorReason.NotFound, `clusters.${GROUP} "${name}" not found`, { name, group: GROUP, kind: KIND });
  },
  alreadyExists(name: string): FlotillaError {
    return new FlotillaError(ErrorReason.AlreadyExists, `clusters.${GROUP} "${name}" already exists`, {
      name,
      group: GROUP,
      kind: KIND,
    });
  },
  conflict(name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): FlotillaError {
    return new FlotillaError(ErrorReason.Conflict, `Operation cannot be fulfilled on clusters.${GROUP} "${name}": ${why}`, {
      name,
      group: GROUP,
      kind: KIND,
    });
  },
  invalid(name: string, causes: ErrorCause[]): FlotillaError {
    const summary = causes.map((c) => `${c.field}: ${c.message}`).join(', ');
    return new FlotillaError(ErrorReason.Invalid, `Cluster.${GROUP} "${name}" is invalid: ${summary}`, {
      name,
      group: GROUP,
      kind: 'Cluster',
      causes,
    });
  },
  badRequest(message: string, causes?: ErrorCause[]): FlotillaError {
    return new FlotillaError(ErrorReason.BadRequest, message, causes ? { causes } : {});
  },
  watchExpired(resourceVersion: string): FlotillaError {
    return new FlotillaError(ErrorReason.Gone, `too old resource version: ${resourceVersion}`);
  },
};
