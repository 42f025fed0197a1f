import { type IncomingMessage, type Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Principal } from '@flotilla/domain';
import type { MemberUpgrade } from '@flotilla/kube';
import { requestIdFrom } from '@flotilla/observability';
import type { Admitted } from './proxy-admission';
import { type ProxyContext, auditProxied } from './proxy-context';
import { memberRequestHeaders, scanRequestHeaders } from './proxy-headers';
import { matchProxyPath, parseProxyTarget } from './proxy-path';
import { memberCredentialRejected, memberRedirected, memberUnreachable, writeSocketStatus } from './proxy-status';

/** The most of a member's non-101 answer to an upgrade that is relayed (it is a Status, small). */
const MAX_REFUSAL_BYTES = 64 * 1024;

/**
 * The HTTP server's `upgrade` listener: exec, attach and port-forward over WebSocket and SPDY on
 * the proxy paths. After the same admission as any request, the upgrade goes to the member with
 * Flotilla's credentials and identity; once the member answers 101 the two sockets are piped,
 * byte for byte, both ways with backpressure (the protocols inside are the member's and the
 * caller's business). Upgrades of other paths are served as ordinary requests (an `Upgrade: h2c`
 * from curl, say), so this listener takes nothing from the rest of the API.
 */
export function proxyUpgradeListener(ctx: ProxyContext, server: Server) {
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = req.url ?? '/';
    if (!matchProxyPath(url)) {
      if (server.listenerCount('upgrade') === 1) serveAsRequest(server, req, socket, head);
      return;
    }
    socket.on('error', () => socket.destroy());
    void serveUpgrade(ctx, req, socket, head, url);
  };
}

/** An upgrade request of a non-proxy path, handed to the ordinary request handling (answered without upgrading). */
function serveAsRequest(server: Server, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  if (head.length > 0) socket.unshift(head);
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.once('finish', () => {
    res.detachSocket(socket as Socket);
    socket.end();
  });
  server.emit('request', req, res);
}

async function serveUpgrade(ctx: ProxyContext, req: IncomingMessage, socket: Duplex, head: Buffer, url: string): Promise<void> {
  const startedAt = new Date();
  const started = process.hrtime.bigint();
  let principal: Principal | undefined;
  let admitted: Admitted | undefined;
  let label = '-';
  let target: ReturnType<typeof parseProxyTarget>;
  const requestId = requestIdFrom(req.headers['x-request-id']);
  const done = (code: number) => {
    ctx.metrics.answered(label, code, started);
    auditProxied(ctx, req, {
      principal,
      ...(admitted ? { admitted } : {}),
      // The cluster the path names, refused requests included (audit queries by cluster find them).
      ...(admitted ? { cluster: admitted.cluster.metadata.name } : target ? { cluster: target.cluster } : {}),
      verb: admitted?.auditVerb ?? (req.method ?? 'GET').toLowerCase(),
      code,
      startedAt,
      requestId,
    });
  };
  // Until the member has switched protocols, a silent caller or member is cut off (slow-loris).
  (socket as Socket).setTimeout?.(ctx.settings.idleTimeoutMs, () => socket.destroy());
  let answer: MemberUpgrade;
  const scanned = scanRequestHeaders(req.rawHeaders);
  try {
    principal = await ctx.identity.authenticator.authenticate(req);
    target = parseProxyTarget(url)!;
    admitted = ctx.admission.admit(principal, target, req.method ?? 'GET', scanned.impersonation, true);
    label = target.cluster;
  } catch (error) {
    return done(writeSocketStatus(socket, error));
  }
  const name = target.cluster;
  try {
    const transport = await ctx.connections.transport(admitted.cluster);
    const upgrade = req.headers.upgrade ?? '';
    const headers = memberRequestHeaders(scanned.forward, admitted.identity, { upgrade, ...(req.socket.remoteAddress ? { forwardedFor: req.socket.remoteAddress } : {}), requestId });
    answer = await transport.upgrade(req.method ?? 'GET', target.memberPath, headers);
  } catch (error) {
    return done(writeSocketStatus(socket, memberUnreachable(name, error)));
  }
  if (socket.destroyed) {
    if (answer.upgraded) answer.socket.destroy();
    else answer.response.destroy();
    return done(499);
  }
  if (!answer.upgraded) return done(await relayRefusal(ctx, name, answer.response, socket));

  (socket as Socket).setTimeout?.(0);
  const member = answer.socket;
  const raw = answer.response.rawHeaders;
  let head101 = 'HTTP/1.1 101 Switching Protocols\r\n';
  for (let i = 0; i < raw.length; i += 2) head101 += `${raw[i]}: ${raw[i + 1]}\r\n`;
  socket.write(`${head101}\r\n`);
  if (answer.head.length > 0) socket.write(answer.head);
  if (head.length > 0) member.write(head);
  ctx.metrics.answered(label, 101, started);
  ctx.metrics.openUpgrades.inc({ cluster: name });
  const close = () => {
    socket.destroy();
    member.destroy();
  };
  ctx.open.add(close);
  let closed = false;
  const onClose = () => {
    if (closed) return;
    closed = true;
    close();
    ctx.open.delete(close);
    ctx.metrics.openUpgrades.dec({ cluster: name });
    auditProxied(ctx, req, { principal, admitted, cluster: name, verb: admitted.auditVerb, code: 101, startedAt, requestId });
  };
  member.on('error', close);
  socket.on('error', close);
  member.once('close', onClose);
  socket.once('close', onClose);
  // pipe: backpressure both ways; an end on one side half-closes the other (exec's stdin close).
  member.pipe(socket);
  socket.pipe(member);
}

/** Relays a member's non-101 answer to an upgrade (a 403 Status, say), bounded; 401 and redirects as for any request. */
async function relayRefusal(ctx: ProxyContext, name: string, response: IncomingMessage, socket: Duplex): Promise<number> {
  const code = response.statusCode ?? 502;
  if (code === 401) {
    response.resume();
    ctx.connections.drop(name);
    return writeSocketStatus(socket, memberCredentialRejected(name));
  }
  if (code >= 300 && code < 400) {
    response.destroy();
    return writeSocketStatus(socket, memberRedirected(name, code));
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_REFUSAL_BYTES) break;
      chunks.push(chunk);
    }
  } catch {
    // A cut answer: relay what came.
  }
  response.destroy();
  const body = Buffer.concat(chunks);
  const type = response.headers['content-type'] ?? 'application/json';
  if (!socket.destroyed) {
    socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 ${code} ${response.statusMessage ?? ''}\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`), body]));
  }
  return code;
}
