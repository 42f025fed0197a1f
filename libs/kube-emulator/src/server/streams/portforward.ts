/**
 * pods/portforward, in the three shapes clients speak:
 * - SPDY/3.1 (`X-Stream-Protocol-Version: portforward.k8s.io`): per connection the client opens an
 *   `error` and a `data` stream sharing a `requestID` and naming the `port` (kubelet
 *   cri/streaming/portforward/httpstream.go);
 * - the same SPDY session tunnelled in binary WebSocket messages (subprotocol
 *   `SPDY/3.1+portforward.k8s.io`, or `v2.portforward.k8s.io` of the 1.30 alpha): what kubectl
 *   1.31+ uses first (client-go tools/portforward/tunneling_connection.go);
 * - WebSocket channels (`v4.channel.k8s.io`, `?ports=`): channel 2i carries port i's data and
 *   2i+1 its errors, each starting with the port as two little-endian bytes (portforward/websocket.go).
 * Each forwarded connection goes to the TCP target the test registered for the pod port, or to an echo.
 */
import { connect } from 'node:net';
import { PassThrough, type Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { VirtualCluster } from '../../cluster/cluster';
import { badRequest } from '../../api/errors';
import { header } from '../spdy/headers';
import { SpdySession, type SpdyStream } from '../spdy/session';
import { upgradeSpdy } from './upgrade';

export const PORT_FORWARD_V1 = 'portforward.k8s.io';
/** WebSocket subprotocols that carry a SPDY session. */
export const PORT_FORWARD_TUNNEL_PROTOCOLS = [`SPDY/3.1+${PORT_FORWARD_V1}`, 'v2.portforward.k8s.io'];
/** WebSocket subprotocols of the channel form ('' = none asked, binary). */
export const PORT_FORWARD_CHANNEL_PROTOCOLS = ['v4.channel.k8s.io', 'channel.k8s.io'];

export interface PodRef {
  namespace: string;
  pod: string;
  uid: string;
}

/** A connection to the pod port: the registered TCP target, or an in-memory echo. */
function openTarget(c: VirtualCluster, p: PodRef, port: number): Duplex {
  const t = c.kubelet.portTarget(p.namespace, p.pod, port);
  if (!t) return new PassThrough();
  return connect({ host: t.host, port: t.port });
}

const errorText = (p: PodRef, port: number, e: Error): string => `error forwarding port ${port} to pod ${p.pod}_${p.namespace}, uid ${p.uid}: ${e.message}`;

/** Parses `?ports=` (repeated or comma separated) as the kubelet does. */
export function portsFromQuery(q: URLSearchParams): number[] {
  const raw = q.getAll('ports').flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  if (raw.length === 0) throw badRequest('query parameter "port" is required');
  return raw.map((s) => {
    const n = Number(s);
    if (!/^\d+$/.test(s) || n < 1 || n > 65535) throw badRequest(`unable to parse "${s}" as a port: port must be in the range 1-65535`);
    return n;
  });
}

/** Handles the streams of one SPDY port-forward session (direct or tunnelled). */
function spdyStreamHandler(c: VirtualCluster, p: PodRef, session: SpdySession): (s: SpdyStream) => void {
  const pairs = new Map<string, { error?: SpdyStream; data?: SpdyStream }>();
  const open = new Set<Duplex>();
  session.onClose(() => {
    for (const t of open) t.destroy();
  });
  return (s) => {
    const type = header(s.headers, 'streamtype');
    let id = header(s.headers, 'requestid');
    // Clients before 1.4 send no requestID: the kubelet pairs a data stream with the error stream opened just before it.
    if (id === undefined) id = String(type === 'data' ? s.id - 2 : s.id);
    if (type !== 'error' && type !== 'data') return s.reset();
    const pair = pairs.get(id) ?? {};
    pairs.set(id, pair);
    pair[type] = s;
    if (type === 'error') s.on({ data: () => undefined });
    const { error, data } = pair;
    if (!error || !data) return;
    pairs.delete(id);
    const port = Number(header(data.headers, 'port'));
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      error.write(`invalid port ${JSON.stringify(header(data.headers, 'port') ?? '')}`);
      error.end();
      data.end();
      return;
    }
    const target = openTarget(c, p, port);
    open.add(target);
    data.on({ data: (b) => target.write(b), end: () => target.end(), reset: () => target.destroy() });
    target.on('data', (b: Buffer) => data.write(b));
    target.on('end', () => data.end());
    target.on('error', (e: Error) => error.write(errorText(p, port, e)));
    target.on('close', () => {
      open.delete(target);
      data.end();
      error.end();
    });
  };
}

export function portForwardOverSpdy(c: VirtualCluster, p: PodRef, req: IncomingMessage, socket: Duplex, head: Buffer, upgraded: (protocol: string) => void): void {
  let handler: ((s: SpdyStream) => void) | undefined;
  const up = upgradeSpdy(req, socket, head, [PORT_FORWARD_V1], (s, session) => {
    handler ??= spdyStreamHandler(c, p, session);
    handler(s);
  });
  if (up) upgraded(up.protocol);
}

/** The SPDY session inside binary WebSocket messages. */
export function portForwardOverTunnel(c: VirtualCluster, p: PodRef, ws: WebSocket): void {
  const session: SpdySession = new SpdySession(
    {
      write: (b) => {
        if (ws.readyState === ws.OPEN) ws.send(b);
      },
      end: () => {
        if (ws.readyState === ws.OPEN) ws.close(1000);
      },
    },
    (s) => handler(s),
  );
  const handler = spdyStreamHandler(c, p, session);
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => session.receive(Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)));
  ws.on('close', () => session.transportClosed());
  ws.on('error', () => session.transportClosed());
}

/** The channel form: one connection per requested port for the life of the WebSocket. */
export function portForwardOverChannels(c: VirtualCluster, p: PodRef, ws: WebSocket, ports: number[]): void {
  const send = (channel: number, b: Buffer): void => {
    if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), b]));
  };
  const targets: Duplex[] = [];
  let live = ports.length;
  if (live === 0) return void ws.close(1000);
  ports.forEach((port, i) => {
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(port, 0);
    send(2 * i, prefix);
    send(2 * i + 1, prefix);
    const t = openTarget(c, p, port);
    targets.push(t);
    t.on('data', (b: Buffer) => send(2 * i, b));
    t.on('error', (e: Error) => send(2 * i + 1, Buffer.from(errorText(p, port, e))));
    t.on('close', () => {
      live -= 1;
      if (live === 0 && ws.readyState === ws.OPEN) ws.close(1000);
    });
  });
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
    const b = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    const i = b[0] ?? 255;
    if (i % 2 === 0 && targets[i / 2]) targets[i / 2].write(b.subarray(1));
  });
  ws.on('close', () => {
    for (const t of targets) t.destroy();
  });
}
