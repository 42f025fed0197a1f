/**
 * HTTP upgrades on a raw socket: answering an upgrade request with a Status (the request never
 * reaches a ServerResponse), the SPDY/3.1 handshake (httpstream.Handshake + spdy.Upgrade of
 * apimachinery), and a SPDY session over the upgraded socket.
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { ApiError } from '../../api/errors';
import { SpdySession, type SpdyStream } from '../spdy/session';

/** Writes a Status answer on the socket of an upgrade request and closes it. */
export function writeUpgradeError(socket: Duplex, err: ApiError): void {
  const body = JSON.stringify(err.toStatus());
  const headers = [
    `HTTP/1.1 ${err.code} ${STATUS_CODES[err.code] ?? 'Error'}`,
    `Audit-Id: ${randomUUID()}`,
    'Cache-Control: no-cache, private',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(err.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
  ];
  if (!socket.writable) return void socket.destroy();
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}

/** The values of a header sent once or many times, comma lists split. */
export function headerValues(req: IncomingMessage, name: string): string[] {
  return (req.headersDistinct[name.toLowerCase()] ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

/**
 * Negotiates `X-Stream-Protocol-Version` (the client's first protocol the server supports wins),
 * answers 101 with `Upgrade: SPDY/3.1`, and runs a SPDY session on the socket. Returns the
 * protocol, or undefined after answering the refusal.
 */
export function upgradeSpdy(req: IncomingMessage, socket: Duplex, head: Buffer, serverProtocols: string[], onStream: (s: SpdyStream, session: SpdySession) => void): { protocol: string; session: SpdySession } | undefined {
  const clientProtocols = headerValues(req, 'x-stream-protocol-version');
  if (clientProtocols.length === 0) {
    writeUpgradeError(socket, new ApiError(400, 'BadRequest', 'unable to upgrade: X-Stream-Protocol-Version is required'));
    return undefined;
  }
  const protocol = clientProtocols.find((p) => serverProtocols.includes(p));
  if (!protocol) {
    const err = new ApiError(403, 'Forbidden', `unable to upgrade: unable to negotiate protocol: client supports [${clientProtocols.join(' ')}], server accepts [${serverProtocols.join(' ')}]`, undefined, undefined, {
      'X-Accepted-Stream-Protocol-Versions': serverProtocols.join(', '),
    });
    writeUpgradeError(socket, err);
    return undefined;
  }
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
  const session: SpdySession = new SpdySession(
    {
      write: (b) => {
        if (socket.writable) socket.write(b);
      },
      end: () => socket.end(),
    },
    (s) => onStream(s, session),
  );
  socket.on('data', (b: Buffer) => session.receive(b));
  socket.on('close', () => session.transportClosed());
  socket.on('error', () => session.transportClosed());
  if (head.length) session.receive(head);
  return { protocol, session };
}

/** Whether the request asks for a WebSocket (RFC 6455) rather than SPDY. */
export function isWebSocket(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** Whether the request asks for SPDY/3.1. */
export function isSpdy(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase().startsWith('spdy/3');
}
