/** The SPDY/3.1 codec: frames, header blocks with the SPDY/3 zlib dictionary, and a server session. */
import { inflateSync } from 'node:zlib';
import { eventually } from '@flotilla/testing';
import { SPDY3_DICTIONARY } from './dictionary';
import { encodeFrame, FLAG_FIN, FrameReader, SpdyProtocolError, type Frame } from './frames';
import { HeaderCodec, parseHeaders, serializeHeaders } from './headers';
import { SpdySession, type SpdyStream } from './session';

describe('SPDY/3.1 frames', () => {
  const samples: Frame[] = [
    { type: 'data', streamId: 7, flags: FLAG_FIN, data: Buffer.from('hello') },
    { type: 'syn_stream', streamId: 1, associatedTo: 0, priority: 3, flags: 2, headerBlock: Buffer.from([1, 2, 3]) },
    { type: 'syn_reply', streamId: 1, flags: 0, headerBlock: Buffer.from([9]) },
    { type: 'headers', streamId: 3, flags: 1, headerBlock: Buffer.alloc(0) },
    { type: 'rst_stream', streamId: 5, status: 5 },
    { type: 'settings', flags: 0, entries: [{ flags: 1, id: 7, value: 65536 }] },
    { type: 'ping', id: 0x80000001 },
    { type: 'goaway', lastGoodStreamId: 9, status: 0 },
    { type: 'window_update', streamId: 1, delta: 1000 },
  ];

  it('round-trips every frame type, even when the bytes arrive one at a time', () => {
    const bytes = Buffer.concat(samples.map(encodeFrame));
    const whole = new FrameReader().push(bytes);
    expect(whole).toEqual(samples);
    const r = new FrameReader();
    const trickled: Frame[] = [];
    for (let i = 0; i < bytes.length; i++) trickled.push(...r.push(bytes.subarray(i, i + 1)));
    expect(trickled).toEqual(samples);
    expect(r.pending).toBe(0);
  });

  it('writes the control bit, version 3 and the 24-bit length as the draft lays them out', () => {
    const b = encodeFrame({ type: 'ping', id: 1 });
    expect(b.toString('hex')).toBe('800300060000000400000001');
    expect(encodeFrame({ type: 'data', streamId: 3, flags: FLAG_FIN, data: Buffer.from('x') }).toString('hex')).toBe('000000030100000178');
  });

  it('refuses other versions and frames over the limit, and ignores unknown control types', () => {
    expect(() => new FrameReader().push(Buffer.from('800200060000000400000001', 'hex'))).toThrow(SpdyProtocolError);
    expect(() => new FrameReader(10).push(Buffer.from('00000001000000ff', 'hex'))).toThrow(/over the limit/);
    expect(new FrameReader().push(Buffer.from('8003000a0000000400000001', 'hex'))).toEqual([]);
  });
});

describe('SPDY/3 header blocks', () => {
  it('serializes lowercase names and NUL-joined values', () => {
    const h = { streamtype: ['data'], port: ['8080'], multi: ['a', 'b'] };
    expect(parseHeaders(serializeHeaders(h))).toEqual(h);
    expect(parseHeaders(serializeHeaders({ StreamType: ['error'] }))).toEqual({ streamtype: ['error'] });
  });

  it('compresses with the SPDY/3 dictionary over one zlib stream for the whole connection', async () => {
    const tx = new HeaderCodec();
    const rx = new HeaderCodec();
    const sent: Array<Record<string, string[]>> = [{ streamtype: ['error'] }, { streamtype: ['stdout'] }, { streamtype: ['stdin'], extra: ['x'] }];
    const blocks = await Promise.all(sent.map((h) => tx.encode(h)));
    // The first block is a zlib stream start naming the dictionary (FDICT), readable with it alone.
    expect(blocks[0][1] & 0x20).toBe(0x20);
    expect(parseHeaders(inflateSync(blocks[0], { dictionary: SPDY3_DICTIONARY, finishFlush: 2 }))).toEqual({ streamtype: ['error'] });
    // Later blocks only make sense in sequence, on the same stream.
    const decoded = [];
    for (const b of blocks) decoded.push(await rx.decode(b));
    expect(decoded).toEqual([{ streamtype: ['error'] }, { streamtype: ['stdout'] }, { streamtype: ['stdin'], extra: ['x'] }]);
    tx.close();
    rx.close();
  });
});

/** A SPDY client made of the same codec, to drive a server session without the network. */
class TestClient {
  readonly frames: Frame[] = [];
  readonly replies = new Map<number, Record<string, string[]>>();
  readonly data = new Map<number, string>();
  readonly fins = new Set<number>();
  ended = false;
  private readonly reader = new FrameReader();
  private readonly codec = new HeaderCodec();
  private chain: Promise<void> = Promise.resolve();

  readonly session = new SpdySession(
    {
      write: (b) => {
        // deliver in small pieces to exercise reassembly
        for (let i = 0; i < b.length; i += 5) this.onServerBytes(b.subarray(i, i + 5));
      },
      end: () => (this.ended = true),
    },
    (s) => this.onStream(s),
  );

  constructor(private readonly onStream: (s: SpdyStream) => void) {}

  private onServerBytes(b: Buffer): void {
    for (const f of this.reader.push(b)) {
      this.chain = this.chain.then(async () => {
        this.frames.push(f);
        if (f.type === 'syn_reply') this.replies.set(f.streamId, await this.codec.decode(f.headerBlock));
        if (f.type === 'data') {
          this.data.set(f.streamId, (this.data.get(f.streamId) ?? '') + f.data.toString());
          if (f.flags & FLAG_FIN) this.fins.add(f.streamId);
        }
      });
    }
  }

  async open(id: number, headers: Record<string, string[]>, fin = false): Promise<void> {
    const headerBlock = await this.codec.encode(headers);
    this.session.receive(encodeFrame({ type: 'syn_stream', streamId: id, associatedTo: 0, priority: 0, flags: fin ? FLAG_FIN : 0, headerBlock }));
  }

  send(id: number, text: string, fin = false): void {
    const bytes = encodeFrame({ type: 'data', streamId: id, flags: fin ? FLAG_FIN : 0, data: Buffer.from(text) });
    for (const byte of bytes) this.session.receive(Buffer.from([byte]));
  }
}

describe('SPDY server session', () => {
  it('replies to each stream, carries data both ways, half-closes and echoes pings', async () => {
    const seen: Array<{ id: number; headers: Record<string, string[]> }> = [];
    const client = new TestClient((s) => {
      seen.push({ id: s.id, headers: s.headers });
      s.on({ data: (b) => s.write(b.toString().toUpperCase()), end: () => s.end() });
    });
    await client.open(1, { streamtype: ['error'], requestid: ['0'] });
    await client.open(3, { streamtype: ['data'], port: ['8080'], requestid: ['0'] });
    client.send(3, 'hello ');
    client.send(3, 'world', true);
    client.session.receive(encodeFrame({ type: 'ping', id: 1 }));
    await eventually(() => expect(client.fins.has(3)).toBe(true));
    expect(seen).toEqual([
      { id: 1, headers: { streamtype: ['error'], requestid: ['0'] } },
      { id: 3, headers: { streamtype: ['data'], port: ['8080'], requestid: ['0'] } },
    ]);
    expect([...client.replies.keys()]).toEqual([1, 3]);
    expect(client.data.get(3)).toBe('HELLO WORLD');
    expect(client.frames.some((f) => f.type === 'ping' && f.id === 1)).toBe(true);
    // SYN_REPLY precedes the stream's first DATA
    const types = client.frames.filter((f) => 'streamId' in f && f.streamId === 3).map((f) => f.type);
    expect(types[0]).toBe('syn_reply');
    client.session.close();
    await eventually(() => expect(client.ended).toBe(true));
    expect(client.frames.at(-1)).toEqual({ type: 'goaway', lastGoodStreamId: 3, status: 0 });
  });

  it('resets streams when the transport goes away, and answers a protocol error with GOAWAY', async () => {
    let reset = false;
    const client = new TestClient((s) => s.on({ data: () => undefined, reset: () => (reset = true) }));
    await client.open(1, { streamtype: ['stdin'] });
    await eventually(() => expect(client.replies.size).toBe(1));
    const closed = jest.fn();
    client.session.onClose(closed);
    client.session.transportClosed();
    expect(reset).toBe(true);
    expect(closed).toHaveBeenCalledTimes(1);

    const bad = new TestClient(() => undefined);
    bad.session.receive(Buffer.from('800200060000000400000001', 'hex'));
    await eventually(() => expect(bad.ended).toBe(true));
    expect(bad.frames.at(-1)).toMatchObject({ type: 'goaway', status: 1 });
  });
});
