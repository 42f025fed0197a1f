import type { NextFunction, Request, Response } from 'express';
import { ErrorReason, FlotillaError, Principal } from '@flotilla/domain';
import { OPEN_PATHS, toKubeStatus } from '@flotilla/service-kit';
import { principalOf } from '../auth/principal';
import type { Authorizer, Decision } from './authorizer';
import { ResourceAttributes, describeResource, requestAttributes } from './request-attributes';

/** The refusal kube-apiserver writes: `clusters "prod" is forbidden: User "bob" cannot delete resource "clusters" in API group "cluster.kubesphere.io"`. */
export function forbidden(p: Principal, a: ResourceAttributes, cluster?: string): FlotillaError {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const where = cluster ? ` in cluster "${cluster}"` : '';
  return new FlotillaError(
    ErrorReason.Forbidden,
    `${describeResource(a)} is forbidden: User "${p.user}" cannot ${a.verb} resource "${resource}" in API group "${a.group}"${where}`,
    { ...(a.name ? { name: a.name } : {}), group: a.group, kind: a.resource },
  );
}

function send(res: Response, error: FlotillaError): void {
  const status = toKubeStatus(error);
  res.status(status.code).type('application/json').send(JSON.stringify(status));
}

/**
 * Authorises every request on Flotilla's own API after authentication, before any route, with
 * a 403 Status as kube-apiserver writes it. Proxied requests (clusters/<name>/proxy/..., and the
 * /clusters/<name>/... alias) need a member role on that cluster here; the proxy then applies
 * impersonation, or memberAllows when impersonation is off for the cluster. A path that cannot be
 * read unambiguously (dot segments, encoded slashes) is refused here rather than guessed at.
 */
export function authorizeMiddleware(authorizer: Authorizer) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (OPEN_PATHS.includes(req.path)) return next();
    const p = principalOf(req);
    if (!p) return send(res, new FlotillaError(ErrorReason.Unauthorized, 'Unauthorized: send "Authorization: Bearer <token>"'));
    const a = requestAttributes(req.method, req.originalUrl ?? req.url);
    if (!a) {
      return send(res, new FlotillaError(ErrorReason.BadRequest, 'the request path has dot segments, empty segments or encoded slashes: send the canonical path', {
        causes: [{ reason: 'FieldValueInvalid', field: 'path', message: 'must be a canonical path' }],
      }));
    }
    let decision: Decision;
    if (a.kind === 'nonResource') {
      decision = authorizer.fleetPath(p, a.verb, a.path);
      if (!decision.allowed) return send(res, new FlotillaError(ErrorReason.Forbidden, `forbidden: User "${p.user}" cannot ${a.verb} path "${a.path}"`));
      return next();
    }
    if (a.group === 'cluster.kubesphere.io' && a.resource === 'clusters' && a.subresource === 'proxy' && a.name) {
      const role = authorizer.memberRole(p, a.name);
      if (!role) return send(res, forbidden(p, a, a.name));
      return next();
    }
    decision = authorizer.fleet(p, a);
    if (!decision.allowed) return send(res, forbidden(p, a));
    next();
  };
}
