import { ErrorReason, FlotillaError, type MemberRole, impersonatedRoleGroup, impersonatedUser } from '@flotilla/domain';

/** Hop-by-hop headers (RFC 9110 7.6.1 and the historical ones): they describe one connection, never forwarded. */
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * Request headers never forwarded to a member:
 *  - the caller's credentials (Authorization, Cookie): the member gets Flotilla's own;
 *  - identity a member could trust (the front-proxy X-Remote-* headers);
 *  - Expect (Node answers 100-continue itself; a member's second 100 would confuse the caller);
 *  - Host (the transport sets the member's) and forwarding headers the caller could forge.
 * Impersonate-* headers are handled apart (refused or turned into Flotilla's own).
 */
const DROPPED_REQUEST = new Set(['authorization', 'cookie', 'expect', 'host', 'forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-real-ip']);

/** Headers as Node gives them in `rawHeaders`: name, value, name, value, ... with the names as sent. */
export type RawHeaders = string[];

/** The tokens of every Connection header line, lower case: the headers they name are hop-by-hop too (RFC 9110 7.6.1). */
function connectionListed(raw: RawHeaders): string[] | undefined {
  let listed: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length !== 10 || raw[i]!.toLowerCase() !== 'connection') continue;
    for (const token of raw[i + 1]!.split(',')) {
      const t = token.trim().toLowerCase();
      // keep-alive, close and upgrade are hop-by-hop anyway: no need to remember them.
      if (t && t !== 'keep-alive' && t !== 'close' && t !== 'upgrade') (listed ??= []).push(t);
    }
  }
  return listed;
}

/** The caller's impersonation request: Impersonate-User and -Group values, and whether other Impersonate-* came. */
export interface ImpersonationRequest {
  user?: string;
  groups: string[];
  /** Impersonate-Uid or Impersonate-Extra-*: not supported, refused. */
  other: string[];
}

/** Adds one Impersonate-* header line to the request being collected. */
function addImpersonation(out: ImpersonationRequest, name: string, value: string): void {
  if (name === 'impersonate-user') out.user ??= value;
  else if (name === 'impersonate-group') out.groups.push(...value.split(',').map((v) => v.trim()).filter(Boolean));
  else out.other.push(name);
}

/** The caller's Impersonate-* headers, or undefined when there are none. */
export function impersonationRequested(raw: RawHeaders): ImpersonationRequest | undefined {
  let out: ImpersonationRequest | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (name.startsWith('impersonate-')) addImpersonation((out ??= { groups: [], other: [] }), name, raw[i + 1]!);
  }
  return out;
}

/** A user or group name no Flotilla identity may take: Kubernetes' reserved `system:` names, and Flotilla's own mapped names. */
export function reservedName(name: string): boolean {
  return /^system:/i.test(name) || /^flotilla:/i.test(name);
}

/** Why a (fleet-admin) caller's impersonation request is refused, or undefined when it may act as the named user. */
export function impersonationRefusal(request: ImpersonationRequest): FlotillaError | undefined {
  const forbid = (message: string) => new FlotillaError(ErrorReason.Forbidden, message);
  if (request.other.length > 0) return forbid(`${request.other.join(', ')} is not supported through the Flotilla proxy: impersonate a Flotilla user with Impersonate-User (kubectl --as) only`);
  if (!request.user) return forbid('Impersonate-Group without Impersonate-User is refused: name the Flotilla user to act as (kubectl --as)');
  for (const name of [request.user, ...request.groups]) {
    if (reservedName(name)) return forbid(`impersonating "${name.slice(0, 128)}" is refused: system: and flotilla: names are never sent to a member; act as a Flotilla user (kubectl --as <user>)`);
  }
  return undefined;
}

/** Who the member sees: impersonation headers (on), or nothing (off: Flotilla's own identity, checked by Flotilla). */
export type MemberIdentity = { impersonate: true; user: string; role: MemberRole } | { impersonate: false };

/** A caller's request headers, read in one pass over rawHeaders (no header objects are built). */
export interface ScannedRequest {
  /** What may go to the member, as rawHeaders pairs (repeated lines stay separate lines). */
  forward: RawHeaders;
  impersonation?: ImpersonationRequest;
}

/**
 * Splits the caller's headers: what may be forwarded (minus credentials, identity, hop-by-hop
 * headers and whatever Connection lists) and the caller's impersonation request, which is
 * refused or turned into Flotilla's own, never forwarded.
 */
export function scanRequestHeaders(raw: RawHeaders): ScannedRequest {
  const listed = connectionListed(raw);
  const forward: RawHeaders = [];
  let impersonation: ImpersonationRequest | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || DROPPED_REQUEST.has(name) || name.startsWith('x-remote-') || listed?.includes(name)) continue;
    if (name.startsWith('impersonate-')) {
      addImpersonation((impersonation ??= { groups: [], other: [] }), name, raw[i + 1]!);
      continue;
    }
    forward.push(raw[i]!, raw[i + 1]!);
  }
  return impersonation ? { forward, impersonation } : { forward };
}

/**
 * Completes the headers sent to the member (in place): Flotilla's impersonation headers, the
 * caller's address and the request id; for an upgrade, the Upgrade and Connection: Upgrade pair
 * is put back (Sec-WebSocket-* and X-Stream-Protocol-Version are end-to-end and passed as sent).
 * The transport adds the member's Host and Flotilla's credentials.
 */
export function memberRequestHeaders(forward: RawHeaders, identity: MemberIdentity, extra: { upgrade?: string; forwardedFor?: string; requestId?: string } = {}): RawHeaders {
  if (identity.impersonate) forward.push('Impersonate-User', impersonatedUser(identity.user), 'Impersonate-Group', impersonatedRoleGroup(identity.role));
  if (extra.upgrade) forward.push('Connection', 'Upgrade', 'Upgrade', extra.upgrade);
  if (extra.forwardedFor) forward.push('X-Forwarded-For', extra.forwardedFor);
  if (extra.requestId) forward.push('X-Request-Id', extra.requestId);
  return forward;
}

/** The member's response headers for the caller, as rawHeaders pairs: all but hop-by-hop ones and what the member's Connection lists. */
export function callerResponseHeaders(raw: RawHeaders): RawHeaders {
  const listed = connectionListed(raw);
  const out: RawHeaders = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || listed?.includes(name)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}
