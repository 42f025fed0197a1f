/**
 * The server side of a SPDY/3.1 session as Kubernetes streaming uses it (what the kubelet's
 * httpstream/spdy server does through moby/spdystream): the client opens streams with SYN_STREAM
 * and headers (`streamType`, `port`, `requestID` …), the server answers each with SYN_REPLY, then
 * both sides send DATA and half-close with FIN.
 *
 * No flow control windows: spdystream, the peer here, never sends WINDOW_UPDATE, so enforcing
 * SPDY/3.1 windows would stall after 64 KiB; TCP (or the tunnelling WebSocket) paces the bytes.
 *
 * The transport is abstract so the same session runs over an upgraded TLS socket (SPDY/3.1) and
 * over binary WebSocket messages (`SPDY/3.1+portforward.k8s.io`, kubectl's tunnelled port-forward).
 */
import { encodeFrame, FLAG_FIN, FLAG_UNIDIRECTIONAL, FrameReader, RstStatus, SpdyProtocolError, type Frame } from './frames';
import { HeaderCodec, type SpdyHeaders } from './headers';

export interface SpdyTransport {
  write(b: Buffer): void;
  /** Ends the transport after what was written (half-close, or a WebSocket close). */
  end(): void;
}

/** DATA is cut into frames of at most this size, so one stream cannot hold the connection long. */
const DATA_CHUNK = 32 * 1024;

export class SpdyStream {
  private buffered: Buffer[] = [];
  private remoteEnded = false;
  private localEnded = false;
  private wasReset = false;
  private handlers?: { data: (b: Buffer) => void; end: () => void; reset: () => void };

  constructor(
    readonly id: number,
    readonly headers: SpdyHeaders,
    private readonly session: SpdySession,
    unidirectional: boolean,
  ) {
    this.localEnded = unidirectional;
  }

  /** Receives the client's bytes (buffered until called), its FIN and its RST_STREAM. */
  on(handlers: { data: (b: Buffer) => void; end?: () => void; reset?: () => void }): void {
    this.handlers = { data: handlers.data, end: handlers.end ?? (() => undefined), reset: handlers.reset ?? (() => undefined) };
    for (const b of this.buffered) handlers.data(b);
    this.buffered = [];
    if (this.wasReset) this.handlers.reset();
    else if (this.remoteEnded) this.handlers.end();
  }

  get closed(): boolean {
    return this.localEnded;
  }

  write(data: Buffer | string): void {
    if (this.localEnded || this.wasReset) return;
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    for (let off = 0; off < b.length; off += DATA_CHUNK) this.session.sendData(this.id, b.subarray(off, off + DATA_CHUNK), false);
  }

  /** Half-closes our side (DATA with FIN). */
  end(): void {
    if (this.localEnded || this.wasReset) return;
    this.localEnded = true;
    this.session.sendData(this.id, Buffer.alloc(0), true);
    if (this.remoteEnded) this.session.forget(this.id);
  }

  reset(status = RstStatus.Cancel): void {
    if (this.wasReset) return;
    this.wasReset = true;
    this.localEnded = true;
    this.session.sendFrame({ type: 'rst_stream', streamId: this.id, status });
  }

  /** @internal */
  remoteData(b: Buffer): void {
    if (this.remoteEnded || this.wasReset || b.length === 0) return;
    if (this.handlers) this.handlers.data(b);
    else this.buffered.push(b);
  }

  /** @internal */
  remoteEnd(): void {
    if (this.remoteEnded) return;
    this.remoteEnded = true;
    if (this.localEnded) this.session.forget(this.id);
    this.handlers?.end();
  }

  /** @internal */
  remoteReset(): void {
    if (this.wasReset) return;
    this.wasReset = true;
    this.localEnded = true;
    this.handlers?.reset();
  }
}

export class SpdySession {
  private readonly reader = new FrameReader();
  private readonly codec = new HeaderCodec();
  private readonly streams = new Map<number, SpdyStream>();
  private inChain: Promise<void> = Promise.resolve();
  private outChain: Promise<void> = Promise.resolve();
  private lastStreamId = 0;
  private ended = false;
  private torn = false;
  private readonly closeListeners: Array<() => void> = [];

  constructor(
    private readonly transport: SpdyTransport,
    private readonly onStream: (s: SpdyStream) => void,
  ) {}

  /** Bytes from the client, in order. */
  receive(chunk: Buffer): void {
    if (this.ended) return;
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    for (const f of frames) this.inChain = this.inChain.then(() => this.handle(f)).catch((e: Error) => this.fail(e));
  }

  /** Called when the transport is gone (idempotent): every open stream is reset and listeners run. */
  transportClosed(): void {
    if (this.torn) return;
    this.torn = true;
    this.ended = true;
    for (const s of this.streams.values()) s.remoteReset();
    this.streams.clear();
    this.codec.close();
    for (const l of this.closeListeners.splice(0)) l();
  }

  onClose(listener: () => void): void {
    if (this.torn) listener();
    else this.closeListeners.push(listener);
  }

  /** Sends GOAWAY after everything queued, then ends the transport (what spdystream's Close does). */
  close(): void {
    if (this.ended) return;
    this.sendFrame({ type: 'goaway', lastGoodStreamId: this.lastStreamId, status: 0 });
    this.outChain = this.outChain.then(() => this.transport.end());
    this.ended = true;
    void this.outChain.then(() => this.transportClosed());
  }

  /** @internal A stream closed both ways is forgotten, so long port-forward sessions do not grow. */
  forget(id: number): void {
    this.streams.delete(id);
  }

  /** @internal */
  sendFrame(f: Frame): void {
    if (this.ended) return;
    this.enqueue(() => encodeFrame(f));
  }

  /** @internal */
  sendData(streamId: number, data: Buffer, fin: boolean): void {
    this.sendFrame({ type: 'data', streamId, flags: fin ? FLAG_FIN : 0, data });
  }

  private enqueue(build: () => Buffer | Promise<Buffer>): void {
    this.outChain = this.outChain
      .then(async () => {
        const b = await build();
        this.transport.write(b);
      })
      .catch((e: Error) => this.fail(e));
  }

  private fail(e: Error): void {
    if (this.ended) return;
    // A protocol error ends the session (GOAWAY PROTOCOL_ERROR), as the draft prescribes.
    this.sendFrame({ type: 'goaway', lastGoodStreamId: this.lastStreamId, status: e instanceof SpdyProtocolError ? 1 : 2 });
    this.outChain = this.outChain.then(() => this.transport.end());
    this.ended = true;
    void this.outChain.then(() => this.transportClosed());
  }

  private async handle(f: Frame): Promise<void> {
    switch (f.type) {
      case 'syn_stream': {
        const headers = await this.codec.decode(f.headerBlock);
        if (f.streamId % 2 === 0 || f.streamId <= this.lastStreamId) {
          this.sendFrame({ type: 'rst_stream', streamId: f.streamId, status: RstStatus.ProtocolError });
          return;
        }
        this.lastStreamId = f.streamId;
        const s = new SpdyStream(f.streamId, headers, this, (f.flags & FLAG_UNIDIRECTIONAL) !== 0);
        this.streams.set(f.streamId, s);
        // spdystream's client drops DATA of a stream it has no SYN_REPLY for, so the reply goes first.
        this.enqueue(async () => encodeFrame({ type: 'syn_reply', streamId: f.streamId, flags: 0, headerBlock: await this.codec.encode({}) }));
        if (f.flags & FLAG_FIN) s.remoteEnd();
        this.onStream(s);
        return;
      }
      case 'headers':
        await this.codec.decode(f.headerBlock); // keeps the zlib context in step; extra headers are not used
        if (f.flags & FLAG_FIN) this.streams.get(f.streamId)?.remoteEnd();
        return;
      case 'data': {
        const s = this.streams.get(f.streamId);
        if (!s) return;
        s.remoteData(f.data);
        if (f.flags & FLAG_FIN) s.remoteEnd();
        return;
      }
      case 'rst_stream':
        this.streams.get(f.streamId)?.remoteReset();
        this.streams.delete(f.streamId);
        return;
      case 'ping':
        // Client pings have odd ids and are echoed; an even id would answer one of ours (we send none).
        if (f.id % 2 === 1) this.sendFrame(f);
        return;
      case 'goaway':
        // The client sends no new streams; the open ones finish normally.
        return;
      case 'syn_reply':
        throw new SpdyProtocolError(`unexpected SYN_REPLY for stream ${f.streamId}: the server opens no streams`);
      case 'settings':
      case 'window_update':
        return;
    }
  }
}
