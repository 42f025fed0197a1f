/**
 * SPDY/3 header blocks (draft 3.1 section 2.6.10): a count, then length-prefixed lowercase names
 * and values (several values of one name joined by NUL), compressed with zlib primed with the
 * SPDY/3 dictionary. One zlib stream per direction lives as long as the connection, each block
 * ending with a sync flush, so blocks must be (de)compressed strictly in connection order.
 */
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary';
import { SpdyProtocolError } from './frames';

/** Header names → values (names lowercased, as SPDY requires). */
export type SpdyHeaders = Record<string, string[]>;

/** A decompressed header block bigger than this is refused (a zlib bomb cannot exhaust memory). */
export const MAX_HEADER_BLOCK = 256 * 1024;

export function serializeHeaders(h: SpdyHeaders): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n, 0);
    return b;
  };
  const entries = Object.entries(h);
  parts.push(u32(entries.length));
  for (const [name, values] of entries) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(values.join('\0'), 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function parseHeaders(b: Buffer): SpdyHeaders {
  let off = 0;
  const u32 = (): number => {
    if (off + 4 > b.length) throw new SpdyProtocolError('truncated header block');
    const v = b.readUInt32BE(off);
    off += 4;
    return v;
  };
  const bytes = (n: number): string => {
    if (off + n > b.length) throw new SpdyProtocolError('truncated header block');
    const s = b.toString('utf8', off, off + n);
    off += n;
    return s;
  };
  const count = u32();
  const out: SpdyHeaders = {};
  for (let i = 0; i < count; i++) {
    const name = bytes(u32()).toLowerCase();
    const values = bytes(u32()).split('\0');
    (out[name] ??= []).push(...values);
  }
  return out;
}

/** The first value of a header, by case-insensitive name. */
export function header(h: SpdyHeaders, name: string): string | undefined {
  return h[name.toLowerCase()]?.[0];
}

/**
 * Runs each chunk through a long-lived zlib stream with a sync flush, one at a time, and
 * resolves with exactly the output of that chunk.
 */
class SerialZlib {
  private tail: Promise<unknown> = Promise.resolve();
  private failed?: Error;

  constructor(
    private readonly z: Deflate | Inflate,
    private readonly limit: number,
  ) {
    z.on('error', (e: Error) => (this.failed = e));
  }

  process(input: Buffer): Promise<Buffer> {
    const run = (): Promise<Buffer> =>
      new Promise<Buffer>((resolve, reject) => {
        if (this.failed) return reject(new SpdyProtocolError(`header compression failed: ${this.failed.message}`));
        const chunks: Buffer[] = [];
        let size = 0;
        const onData = (c: Buffer): void => {
          size += c.length;
          // past the limit, keep counting but stop holding the output
          if (size <= this.limit) chunks.push(c);
        };
        const onError = (e: Error): void => {
          this.z.off('data', onData);
          reject(new SpdyProtocolError(`header compression failed: ${e.message}`));
        };
        this.z.on('data', onData);
        this.z.once('error', onError);
        this.z.write(input);
        this.z.flush(constants.Z_SYNC_FLUSH, () => {
          this.z.off('data', onData);
          this.z.off('error', onError);
          if (size > this.limit) reject(new SpdyProtocolError(`header block of ${size} bytes is over the limit of ${this.limit}`));
          else resolve(Buffer.concat(chunks));
        });
      });
    const p = this.tail.then(run);
    this.tail = p.catch(() => undefined);
    return p;
  }

  close(): void {
    this.z.destroy();
  }
}

/** Both directions of one connection's header compression. */
export class HeaderCodec {
  private readonly deflate = new SerialZlib(createDeflate({ dictionary: SPDY3_DICTIONARY }), Number.MAX_SAFE_INTEGER);
  private readonly inflate = new SerialZlib(createInflate({ dictionary: SPDY3_DICTIONARY }), MAX_HEADER_BLOCK);

  async encode(h: SpdyHeaders): Promise<Buffer> {
    return this.deflate.process(serializeHeaders(h));
  }

  async decode(block: Buffer): Promise<SpdyHeaders> {
    return parseHeaders(await this.inflate.process(block));
  }

  close(): void {
    this.deflate.close();
    this.inflate.close();
  }
}
