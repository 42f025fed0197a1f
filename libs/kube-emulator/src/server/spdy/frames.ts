/**
 * SPDY/3.1 framing (draft 3.1 section 2.2), the subset Kubernetes streaming uses: SYN_STREAM,
 * SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE and DATA. Header blocks
 * stay opaque here (compressed bytes); headers.ts compresses and decompresses them, because their
 * zlib context spans the whole connection.
 *
 * Control frame: |1|version(15)|type(16)| flags(8)|length(24)| data
 * Data frame:    |0|stream id(31)|        flags(8)|length(24)| data
 */

export const SPDY_VERSION = 3;
export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;
/** The largest frame payload the 24-bit length can describe. */
export const MAX_FRAME_PAYLOAD = 0xffffff;

export enum FrameType {
  SynStream = 1,
  SynReply = 2,
  RstStream = 3,
  Settings = 4,
  Ping = 6,
  GoAway = 7,
  Headers = 8,
  WindowUpdate = 9,
}

/** RST_STREAM status codes. */
export enum RstStatus {
  ProtocolError = 1,
  InvalidStream = 2,
  RefusedStream = 3,
  UnsupportedVersion = 4,
  Cancel = 5,
  InternalError = 6,
  FlowControlError = 7,
  StreamInUse = 8,
  StreamAlreadyClosed = 9,
}

export type Frame =
  | { type: 'data'; streamId: number; flags: number; data: Buffer }
  | { type: 'syn_stream'; streamId: number; associatedTo: number; priority: number; flags: number; headerBlock: Buffer }
  | { type: 'syn_reply'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'headers'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; flags: number; entries: Array<{ flags: number; id: number; value: number }> }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'window_update'; streamId: number; delta: number };

export class SpdyProtocolError extends Error {}

const U31 = 0x7fffffff;

function controlFrame(type: FrameType, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD) throw new SpdyProtocolError(`control frame payload of ${payload.length} bytes is over the 24-bit limit`);
  const head = Buffer.alloc(8);
  head.writeUInt32BE((0x80000000 | (SPDY_VERSION << 16) | type) >>> 0, 0);
  head.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  return Buffer.concat([head, payload]);
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

/** Encodes one frame (header blocks must already be compressed). */
export function encodeFrame(f: Frame): Buffer {
  switch (f.type) {
    case 'data': {
      if (f.data.length > MAX_FRAME_PAYLOAD) throw new SpdyProtocolError(`data frame of ${f.data.length} bytes is over the 24-bit limit`);
      const head = u32s(f.streamId & U31, ((f.flags & 0xff) << 24) | f.data.length);
      return Buffer.concat([head, f.data]);
    }
    case 'syn_stream': {
      const fixed = Buffer.alloc(10);
      fixed.writeUInt32BE(f.streamId & U31, 0);
      fixed.writeUInt32BE(f.associatedTo & U31, 4);
      fixed.writeUInt8((f.priority & 0x7) << 5, 8);
      return controlFrame(FrameType.SynStream, f.flags, Buffer.concat([fixed, f.headerBlock]));
    }
    case 'syn_reply':
      return controlFrame(FrameType.SynReply, f.flags, Buffer.concat([u32s(f.streamId & U31), f.headerBlock]));
    case 'headers':
      return controlFrame(FrameType.Headers, f.flags, Buffer.concat([u32s(f.streamId & U31), f.headerBlock]));
    case 'rst_stream':
      return controlFrame(FrameType.RstStream, 0, u32s(f.streamId & U31, f.status));
    case 'settings':
      return controlFrame(FrameType.Settings, f.flags, u32s(f.entries.length, ...f.entries.flatMap((e) => [((e.flags & 0xff) << 24) | (e.id & 0xffffff), e.value])));
    case 'ping':
      return controlFrame(FrameType.Ping, 0, u32s(f.id));
    case 'goaway':
      return controlFrame(FrameType.GoAway, 0, u32s(f.lastGoodStreamId & U31, f.status));
    case 'window_update':
      return controlFrame(FrameType.WindowUpdate, 0, u32s(f.streamId & U31, f.delta & U31));
  }
}

function need(payload: Buffer, n: number, what: string): void {
  if (payload.length < n) throw new SpdyProtocolError(`${what} frame too short: ${payload.length} bytes, need ${n}`);
}

function decodeControl(type: number, flags: number, p: Buffer): Frame | undefined {
  switch (type) {
    case FrameType.SynStream:
      need(p, 10, 'SYN_STREAM');
      return { type: 'syn_stream', streamId: p.readUInt32BE(0) & U31, associatedTo: p.readUInt32BE(4) & U31, priority: p.readUInt8(8) >> 5, flags, headerBlock: p.subarray(10) };
    case FrameType.SynReply:
      need(p, 4, 'SYN_REPLY');
      return { type: 'syn_reply', streamId: p.readUInt32BE(0) & U31, flags, headerBlock: p.subarray(4) };
    case FrameType.Headers:
      need(p, 4, 'HEADERS');
      return { type: 'headers', streamId: p.readUInt32BE(0) & U31, flags, headerBlock: p.subarray(4) };
    case FrameType.RstStream:
      need(p, 8, 'RST_STREAM');
      return { type: 'rst_stream', streamId: p.readUInt32BE(0) & U31, status: p.readUInt32BE(4) };
    case FrameType.Settings: {
      need(p, 4, 'SETTINGS');
      const n = p.readUInt32BE(0);
      need(p, 4 + n * 8, 'SETTINGS');
      const entries = Array.from({ length: n }, (_, i) => {
        const word = p.readUInt32BE(4 + i * 8);
        return { flags: word >>> 24, id: word & 0xffffff, value: p.readUInt32BE(8 + i * 8) };
      });
      return { type: 'settings', flags, entries };
    }
    case FrameType.Ping:
      need(p, 4, 'PING');
      return { type: 'ping', id: p.readUInt32BE(0) };
    case FrameType.GoAway:
      need(p, 8, 'GOAWAY');
      return { type: 'goaway', lastGoodStreamId: p.readUInt32BE(0) & U31, status: p.readUInt32BE(4) };
    case FrameType.WindowUpdate:
      need(p, 8, 'WINDOW_UPDATE');
      return { type: 'window_update', streamId: p.readUInt32BE(0) & U31, delta: p.readUInt32BE(4) & U31 };
    default:
      // Unknown control frame types must be ignored (draft 3.1, 2.2.1).
      return undefined;
  }
}

/**
 * Splits a byte stream into frames. Bytes arrive in arbitrary chunks (TCP segments, or WebSocket
 * messages when SPDY is tunnelled); `maxPayload` bounds what one frame may make us buffer.
 */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxPayload = MAX_FRAME_PAYLOAD) {}

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Frame[] = [];
    while (this.buf.length >= 8) {
      const w0 = this.buf.readUInt32BE(0);
      const w1 = this.buf.readUInt32BE(4);
      const len = w1 & 0xffffff;
      if (len > this.maxPayload) throw new SpdyProtocolError(`frame payload of ${len} bytes is over the limit of ${this.maxPayload}`);
      if (this.buf.length < 8 + len) break;
      const payload = Buffer.from(this.buf.subarray(8, 8 + len));
      this.buf = this.buf.subarray(8 + len);
      const flags = w1 >>> 24;
      if (w0 & 0x80000000) {
        const version = (w0 >>> 16) & 0x7fff;
        if (version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
        const f = decodeControl(w0 & 0xffff, flags, payload);
        if (f) out.push(f);
      } else {
        out.push({ type: 'data', streamId: w0 & U31, flags, data: payload });
      }
    }
    return out;
  }

  /** Bytes of an incomplete frame still held. */
  get pending(): number {
    return this.buf.length;
  }
}
