import type { IncomingMessage } from 'node:http';
import type { Principal } from '@flotilla/domain';

/**
 * The authenticated caller of a request. Held beside the request (not on it), so no header, body
 * parser or route can set or overwrite it; only the Authenticator's middleware writes it.
 */
const principals = new WeakMap<IncomingMessage, Principal>();

export function principalOf(req: IncomingMessage): Principal | undefined {
  return principals.get(req);
}

export function setPrincipal(req: IncomingMessage, p: Principal): void {
  principals.set(req, Object.freeze({ ...p, groups: Object.freeze([...p.groups]) as string[] }));
}

/** The principal, or a programming error: every route but health and metrics runs after authentication. */
export function requirePrincipal(req: IncomingMessage): Principal {
  const p = principals.get(req);
  if (!p) throw new Error('no principal on this request: the authentication middleware must run before every route');
  return p;
}
