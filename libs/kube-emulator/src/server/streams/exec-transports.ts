/**
 * The two transports of pods/exec and pods/attach:
 * - WebSocket channels (`v5.channel.k8s.io`, `v4.channel.k8s.io`): each binary message is one
 *   channel byte (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize) and its data; v5 adds the
 *   CLOSE signal `[255, channel]` that ends stdin (client-go tools/remotecommand/websocket.go).
 * - SPDY/3.1 streams named by their `streamType` header (error, stdin, stdout, stderr, resize);
 *   the kubelet starts once every stream the options call for is open (remotecommand/httpstream.go).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { ByteQueue } from '../../cluster/commands';
import type { SpdyStream } from '../spdy/session';
import { header } from '../spdy/headers';
import { STREAM_PROTOCOL_V4, STREAM_PROTOCOL_V5, type ExecChannels, type RemoteCommandOptions } from './remotecommand';
import { upgradeSpdy } from './upgrade';

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const CLOSE = 255;

/** How long the client has to open all its SPDY streams (the kubelet's streamCreationTimeout). */
export const STREAM_CREATION_TIMEOUT_MS = 30_000;

export const EXEC_WS_PROTOCOLS = [STREAM_PROTOCOL_V5, STREAM_PROTOCOL_V4];
export const EXEC_SPDY_PROTOCOLS = [STREAM_PROTOCOL_V5, STREAM_PROTOCOL_V4];

export function execOverWebSocket(ws: WebSocket, o: RemoteCommandOptions, run: (ch: ExecChannels) => Promise<void>): void {
  const abort = new AbortController();
  const stdin = o.stdin ? new ByteQueue() : undefined;
  const v5 = ws.protocol === STREAM_PROTOCOL_V5;
  const send = (channel: number, b: Buffer): void => {
    if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), b]));
  };
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
    const b = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (b.length === 0) return;
    if (b[0] === STDIN) stdin?.push(b.subarray(1));
    else if (v5 && b[0] === CLOSE && b[1] === STDIN) stdin?.end();
    // resize (4) changes nothing here: there is no terminal
  });
  ws.on('close', () => {
    stdin?.end();
    abort.abort();
  });
  ws.on('error', () => abort.abort());
  // The kubelet sends an empty message on the lowest writable channel once the streams are up.
  send(o.stdout ? STDOUT : o.stderr ? STDERR : ERROR, Buffer.alloc(0));
  void run({
    stdin,
    stdout: (b) => send(STDOUT, b),
    stderr: (b) => send(STDERR, b),
    finish: (status) => {
      send(ERROR, Buffer.from(JSON.stringify(status)));
      if (ws.readyState === ws.OPEN) ws.close(1000);
    },
    signal: abort.signal,
  });
}

export function execOverSpdy(req: IncomingMessage, socket: Duplex, head: Buffer, o: RemoteCommandOptions, run: (ch: ExecChannels) => Promise<void>, upgraded: (protocol: string) => void): void {
  const expected = new Set(['error', ...(o.stdin ? ['stdin'] : []), ...(o.stdout ? ['stdout'] : []), ...(o.stderr ? ['stderr'] : []), ...(o.tty ? ['resize'] : [])]);
  const streams = new Map<string, SpdyStream>();
  const abort = new AbortController();
  const stdin = o.stdin ? new ByteQueue() : undefined;
  let started = false;
  const up = upgradeSpdy(req, socket, head, EXEC_SPDY_PROTOCOLS, (s) => {
    const type = header(s.headers, 'streamtype') ?? '';
    if (type === 'stdin') s.on({ data: (b) => stdin?.push(b), end: () => stdin?.end(), reset: () => stdin?.end() });
    else s.on({ data: () => undefined });
    streams.set(type, s);
    if (started || ![...expected].every((t) => streams.has(t))) return;
    started = true;
    clearTimeout(timer);
    void run({
      stdin,
      stdout: (b) => streams.get('stdout')?.write(b),
      stderr: (b) => streams.get('stderr')?.write(b),
      finish: (status) => {
        const error = streams.get('error');
        error?.write(JSON.stringify(status));
        for (const st of streams.values()) st.end();
        up?.session.close();
      },
      signal: abort.signal,
    });
  });
  if (!up) return;
  upgraded(up.protocol);
  const timer = setTimeout(() => up.session.close(), STREAM_CREATION_TIMEOUT_MS);
  timer.unref();
  up.session.onClose(() => {
    clearTimeout(timer);
    stdin?.end();
    abort.abort();
  });
}
