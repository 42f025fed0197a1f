/**
 * Routes the streaming subresources of Pods: `log` is a plain (chunked) answer; `exec`, `attach`
 * and `portforward` need an upgrade to WebSocket or SPDY/3.1, and answer 400 without one.
 * Options are checked before upgrading, so mistakes come back as ordinary Status answers.
 */
import { obj, str } from '@flotilla/apply';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { VirtualCluster } from '../../cluster/cluster';
import { badRequest } from '../../api/errors';
import type { RequestInfo } from '../request-info';
import { EXEC_WS_PROTOCOLS, execOverSpdy, execOverWebSocket } from './exec-transports';
import { PORT_FORWARD_CHANNEL_PROTOCOLS, PORT_FORWARD_TUNNEL_PROTOCOLS, portForwardOverChannels, portForwardOverSpdy, portForwardOverTunnel, portsFromQuery, type PodRef } from './portforward';
import { remoteCommandOptions, runRemoteCommand } from './remotecommand';
import { headerValues, isSpdy, isWebSocket } from './upgrade';

/** A WebSocket message bigger than this closes the connection (1009): bounded reads. */
const MAX_WS_MESSAGE = 16 * 1024 * 1024;

/**
 * `ws` accepts only RFC 7230 tokens as subprotocols, and `/` is not one: kubectl's
 * `SPDY/3.1+portforward.k8s.io` is refused with 400 "Invalid Sec-WebSocket-Protocol header"
 * (gorilla/websocket, the real server's library, does not check). So the header is rewritten
 * with `_` before ws reads it and the real name is restored in the answer.
 */
const mangle = (p: string): string => p.replace(/\//g, '_');
const unmangle = (p: string, supported: string[]): string => supported.find((s) => mangle(s) === p) ?? p;

/** The first protocol of the client's list (its preference order) that `supported` has. */
const chooser =
  (supported: string[]) =>
  (offered: Set<string>): string | false => {
    const p = [...offered].map((o) => unmangle(o, supported)).find((o) => supported.includes(o));
    return p ?? false;
  };

const execWss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_WS_MESSAGE, handleProtocols: chooser(EXEC_WS_PROTOCOLS) });
const portForwardWss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  maxPayload: MAX_WS_MESSAGE,
  handleProtocols: chooser([...PORT_FORWARD_TUNNEL_PROTOCOLS, ...PORT_FORWARD_CHANNEL_PROTOCOLS]),
});

export const STREAMING_SUBRESOURCES = ['exec', 'attach', 'portforward'];

export function isPodStream(info: RequestInfo): boolean {
  return info.resourceRequest && info.group === '' && info.resource === 'pods' && STREAMING_SUBRESOURCES.includes(info.subresource ?? '');
}

export function isPodLog(info: RequestInfo): boolean {
  return info.resourceRequest && info.group === '' && info.resource === 'pods' && info.subresource === 'log';
}

function negotiationError(offered: string[], supported: string[]): Error {
  return badRequest(`unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server supports [${supported.join(' ')}]`);
}

/** Serves an upgrade request of pods/exec, pods/attach or pods/portforward; throws ApiError before upgrading. */
export function servePodStreamUpgrade(c: VirtualCluster, req: IncomingMessage, socket: Duplex, head: Buffer, info: RequestInfo, q: URLSearchParams): void {
  const ns = info.namespace ?? '';
  const name = info.name ?? '';
  const ws = isWebSocket(req);
  if (!ws && !isSpdy(req)) throw badRequest('Upgrade request required');
  const offered = headerValues(req, 'sec-websocket-protocol');
  if (info.subresource === 'exec' || info.subresource === 'attach') {
    const o = remoteCommandOptions(c, info.subresource, ns, name, q);
    const run = (ch: Parameters<typeof runRemoteCommand>[2]): Promise<void> => runRemoteCommand(c, o, ch);
    if (!ws) return execOverSpdy(req, socket, head, o, run, (protocol) => c.recordStream({ subresource: o.kind, transport: 'spdy', protocol }));
    if (!offered.some((p) => EXEC_WS_PROTOCOLS.includes(p))) throw negotiationError(offered, EXEC_WS_PROTOCOLS);
    return execWss.handleUpgrade(req, socket, head, (conn) => {
      c.recordStream({ subresource: o.kind, transport: 'websocket', protocol: conn.protocol });
      execOverWebSocket(conn, o, run);
    });
  }
  const pod = c.api().get(c.resolve('', 'v1', 'pods')!, ns, name);
  const ref: PodRef = { namespace: ns, pod: name, uid: str(obj(pod.metadata)?.uid) ?? '' };
  if (!ws) return portForwardOverSpdy(c, ref, req, socket, head, (protocol) => c.recordStream({ subresource: 'portforward', transport: 'spdy', protocol }));
  const tunnelled = offered.some((p) => PORT_FORWARD_TUNNEL_PROTOCOLS.includes(p));
  if (!tunnelled && offered.length > 0 && !offered.some((p) => PORT_FORWARD_CHANNEL_PROTOCOLS.includes(p))) {
    throw negotiationError(offered, [...PORT_FORWARD_TUNNEL_PROTOCOLS, ...PORT_FORWARD_CHANNEL_PROTOCOLS]);
  }
  const ports = tunnelled ? [] : portsFromQuery(q);
  if (offered.length) req.headers['sec-websocket-protocol'] = offered.map(mangle).join(', ');
  portForwardWss.handleUpgrade(req, socket, head, (conn) => {
    const tunnel = PORT_FORWARD_TUNNEL_PROTOCOLS.includes(conn.protocol);
    c.recordStream({ subresource: 'portforward', transport: 'websocket', protocol: conn.protocol });
    if (tunnel) portForwardOverTunnel(c, ref, conn);
    else portForwardOverChannels(c, ref, conn, ports);
  });
}
