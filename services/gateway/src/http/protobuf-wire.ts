/**
 * The low-level protobuf wire format (https://protobuf.dev/programming-guides/encoding/), read under
 * bounds: the one reader behind every Kubernetes protobuf body the gateway decodes
 * (kube-protobuf.ts). It never recurses itself (nested messages are read by the caller with a new
 * reader one level deeper), never reads past its buffer, and refuses with a WireError naming the
 * problem: a truncated field, a varint longer than 10 bytes, a group (wire types 3 and 4), a string
 * longer than the bound, nesting deeper than the bound.
 */

/** Wire types (the low 3 bits of a field's key). */
export const WireType = { Varint: 0, Fixed64: 1, LengthDelimited: 2, StartGroup: 3, EndGroup: 4, Fixed32: 5 } as const;

const WIRE_NAMES = ['varint', '64-bit', 'length-delimited', 'start-group', 'end-group', '32-bit'];
export const wireTypeName = (wire: number) => WIRE_NAMES[wire] ?? `unknown (${wire})`;

/** Bounds on one decoded body (the body's own size is bounded before it reaches the reader). */
export interface WireLimits {
  /** Deepest nesting of messages (the envelope is level 0). */
  maxDepth: number;
  /** Longest string or bytes field, in bytes. */
  maxStringBytes: number;
  /** Most entries in one map field. */
  maxMapEntries: number;
  /** Most values in one repeated field. */
  maxRepeated: number;
}

/**
 * Kubernetes' own bounds are larger than any of these allow in practice: a name is at most 253
 * characters, all annotations of an object together at most 256 KiB.
 */
export const DEFAULT_WIRE_LIMITS: WireLimits = { maxDepth: 16, maxStringBytes: 256 * 1024, maxMapEntries: 1000, maxRepeated: 1000 };

/** A body the wire format refuses; `message` names the problem without quoting the input. */
export class WireError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

export interface FieldKey {
  field: number;
  wire: number;
}

/** Reads one message's fields in order. `depth` is the message's nesting level (the envelope is 0). */
export class WireReader {
  private pos = 0;

  constructor(
    private readonly buf: Buffer,
    readonly depth: number = 0,
    readonly limits: WireLimits = DEFAULT_WIRE_LIMITS,
  ) {
    if (depth > limits.maxDepth) throw new WireError(`messages nest deeper than ${limits.maxDepth} levels`);
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** The next field's number and wire type. */
  key(): FieldKey {
    const key = this.varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (field < 1 || field > 0x1fffffff) throw new WireError(`field number ${field} is out of range`);
    return { field, wire };
  }

  /** A varint as an unsigned 64-bit value (at most 10 bytes). */
  varint(): bigint {
    let result = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new WireError('a varint is cut short');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    throw new WireError('a varint is longer than 10 bytes');
  }

  /** An int64 (two's complement in the varint), as a number; refused when beyond 2^53. */
  int64(): number {
    const value = BigInt.asIntN(64, this.varint());
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw new WireError('an integer is out of range');
    return Number(value);
  }

  bool(): boolean {
    return this.varint() !== 0n;
  }

  /** The payload of a length-delimited field (a view, not a copy), at most `maxStringBytes` unless `max` says otherwise. */
  bytes(max = this.limits.maxStringBytes): Buffer {
    const length = this.varint();
    if (length > BigInt(this.buf.length - this.pos)) throw new WireError('a length-delimited field is cut short');
    const n = Number(length);
    if (n > max) throw new WireError(`a string or message is longer than ${max} bytes`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A string field: valid UTF-8. */
  string(): string {
    const bytes = this.bytes();
    try {
      return UTF8.decode(bytes);
    } catch {
      throw new WireError('a string is not valid UTF-8');
    }
  }

  /** A nested message: a reader one level deeper over its payload (bounded by the body, not by maxStringBytes). */
  message(): WireReader {
    return new WireReader(this.bytes(this.buf.length), this.depth + 1, this.limits);
  }

  /** Skips a field this decoder does not read (unknown fields are ignored, as protobuf requires). */
  skip(wire: number): void {
    if (wire === WireType.Varint) this.varint();
    else if (wire === WireType.LengthDelimited) this.bytes(this.buf.length);
    else if (wire === WireType.Fixed64) this.advance(8);
    else if (wire === WireType.Fixed32) this.advance(4);
    else throw new WireError(`wire type ${wireTypeName(wire)} is not supported`);
  }

  private advance(n: number): void {
    if (this.pos + n > this.buf.length) throw new WireError('a fixed-size field is cut short');
    this.pos += n;
  }
}
