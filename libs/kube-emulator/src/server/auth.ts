/** Who is calling (bearer token, client certificate or anonymous) and whether RBAC lets them. */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { VirtualCluster } from '../cluster/cluster';
import { ApiError, badRequest, forbidden, unauthorized } from '../api/errors';
import { authorize, forbiddenReason, type Attributes, type UserInfo } from '../api/rbac';
import type { RequestInfo } from './request-info';

/** The caller: a bad token or certificate is 401; no credential at all is `system:anonymous`. */
export function authenticate(c: VirtualCluster, req: IncomingMessage): UserInfo {
  const auth = req.headers.authorization;
  if (auth && /^bearer /i.test(auth)) {
    const user = c.authenticateToken(auth.slice(7).trim());
    if (!user) throw unauthorized();
    return user;
  }
  const sock = req.socket as TLSSocket;
  if (typeof sock.getPeerCertificate === 'function' && sock.authorized) {
    const cert = sock.getPeerCertificate();
    if (cert && cert.subject) {
      const cn = Array.isArray(cert.subject.CN) ? cert.subject.CN[0] : cert.subject.CN;
      const o = cert.subject.O;
      const orgs = o === undefined ? [] : Array.isArray(o) ? o : [o];
      const user = c.userForCertificate(cn ?? '', orgs);
      if (!user) throw unauthorized();
      return user;
    }
  }
  return { username: 'system:anonymous', groups: ['system:unauthenticated'] };
}

/** Throws the real server's 403 when RBAC does not allow the request. */
export function authorizeRequest(c: VirtualCluster, user: UserInfo, info: RequestInfo, path: string): void {
  const attrs: Attributes = info.resourceRequest
    ? { verb: info.verb, resourceRequest: true, group: info.group, resource: info.resource, subresource: info.subresource, namespace: info.namespace, name: info.name }
    : { verb: info.verb, resourceRequest: false, path };
  // Non-resource requests of a cluster nobody has touched yet are judged by the bootstrap roles alone,
  // so that probing /version or /readyz does not build the cluster's object store.
  const decision = authorize(c.materialized || info.resourceRequest ? c.api().store : undefined, user, attrs);
  if (decision.allowed) return;
  if (!info.resourceRequest) throw new ApiError(403, 'Forbidden', `forbidden: ${forbiddenReason(user, attrs)}`, {});
  // The Status names the resource without its subresource (`pods "p" is forbidden: … "pods/exec" …`),
  // as responsewriters.Forbidden builds it from the attributes' GroupResource.
  throw forbidden(info.resource ?? '', info.group, info.name, forbiddenReason(user, attrs));
}

/**
 * Impersonation (Impersonate-User, Impersonate-Group), as kube-apiserver does it: the caller
 * needs `impersonate` on users (or serviceaccounts) and on each group, by name, so RBAC
 * resourceNames limit whom it may become. Groups without a user are refused. Returns the user
 * the request then runs as.
 */
export function impersonate(c: VirtualCluster, req: IncomingMessage, user: UserInfo): UserInfo {
  const users = req.headersDistinct['impersonate-user'] ?? [];
  const groups = (req.headersDistinct['impersonate-group'] ?? []).filter((g) => g !== '');
  if (users.length === 0) {
    if (groups.length > 0) throw badRequest(`requested [${groups.map((g) => `{Group  ${g}  authentication.k8s.io/v1  }`).join(' ')}] without impersonating a user`);
    return user;
  }
  const username = users[0];
  const store = c.api().store;
  const check = (a: Attributes): void => {
    if (authorize(store, user, a).allowed) return;
    throw forbidden(a.resource ?? '', a.group ?? '', a.name, forbiddenReason(user, a));
  };
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  if (sa) check({ verb: 'impersonate', resourceRequest: true, group: '', resource: 'serviceaccounts', namespace: sa[1], name: sa[2] });
  else check({ verb: 'impersonate', resourceRequest: true, group: '', resource: 'users', name: username });
  for (const g of groups) check({ verb: 'impersonate', resourceRequest: true, group: '', resource: 'groups', name: g });
  const extra = sa ? ['system:serviceaccounts', `system:serviceaccounts:${sa[1]}`] : [];
  const all = [...new Set([...groups, ...extra])];
  if (username !== 'system:anonymous' && !all.includes('system:authenticated')) all.push('system:authenticated');
  return { username, groups: all };
}
