/**
 * The Swagger 2.0 document in gnostic's protobuf form (openapi.v2.Document), which kubectl asks
 * /openapi/v2 for (`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`) and needs
 * for client-side validation and patch strategies. Encodes the document's swagger, info and
 * definitions (what kubectl reads); paths stay in the JSON form only (kubectl reads paths from v3).
 * Field numbers are those of gnostic's openapiv2/OpenAPIv2.proto.
 */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';
/** What kube-apiserver answers it with (a media type Go's mime parser accepts: no '@'). */
export const OPENAPI_V2_PROTOBUF_RESPONSE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A protobuf message under construction: fields appended in order. */
class Message {
  private readonly parts: Buffer[] = [];

  private varint(n: number): void {
    const bytes: number[] = [];
    let v = n;
    while (v > 0x7f) {
      bytes.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(v);
    this.parts.push(Buffer.from(bytes));
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  string(field: number, value: unknown): this {
    if (typeof value !== 'string' || value === '') return this;
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  strings(field: number, values: unknown): this {
    if (Array.isArray(values)) for (const v of values) if (typeof v === 'string') this.bytes(field, Buffer.from(v, 'utf8'));
    return this;
  }

  bool(field: number, value: unknown): this {
    if (value !== true) return this;
    this.tag(field, 0);
    this.varint(1);
    return this;
  }

  int(field: number, value: unknown): this {
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) return this;
    this.tag(field, 0);
    this.varint(value);
    return this;
  }

  double(field: number, value: unknown): this {
    if (typeof value !== 'number') return this;
    this.tag(field, 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(value);
    this.parts.push(b);
    return this;
  }

  message(field: number, m: Message | undefined): this {
    return m ? this.bytes(field, m.toBuffer()) : this;
  }

  bytes(field: number, b: Buffer): this {
    this.tag(field, 2);
    this.varint(b.length);
    this.parts.push(b);
    return this;
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** openapi.v2.Any: the value as YAML text (JSON is YAML). */
const any = (v: unknown) => new Message().string(2, JSON.stringify(v));
/** openapi.v2.NamedAny. */
const namedAny = (name: string, v: unknown) => new Message().string(1, name).message(2, any(v));

function schema(s: unknown): Message {
  const m = new Message();
  if (!isObject(s)) return m;
  m.string(1, s.$ref).string(2, s.format).string(3, s.title).string(4, s.description);
  if (s.default !== undefined) m.message(5, any(s.default));
  m.double(7, s.maximum).double(9, s.minimum).int(11, s.maxLength).int(12, s.minLength).string(13, s.pattern).bool(16, s.uniqueItems);
  m.strings(19, s.required);
  if (Array.isArray(s.enum)) for (const e of s.enum) m.message(20, any(e));
  if (isObject(s.additionalProperties)) m.message(21, new Message().message(1, schema(s.additionalProperties)));
  else if (typeof s.additionalProperties === 'boolean') m.message(21, new Message().bool(2, s.additionalProperties));
  if (typeof s.type === 'string') m.message(22, new Message().strings(1, [s.type]));
  if (isObject(s.items)) m.message(23, new Message().message(1, schema(s.items)));
  if (Array.isArray(s.allOf)) for (const a of s.allOf) m.message(24, schema(a));
  if (isObject(s.properties)) {
    const props = new Message();
    for (const [name, p] of Object.entries(s.properties)) props.message(1, new Message().string(1, name).message(2, schema(p)));
    m.message(25, props);
  }
  m.bool(27, s.readOnly);
  for (const [k, v] of Object.entries(s)) if (k.startsWith('x-')) m.message(31, namedAny(k, v));
  return m;
}

/** Encodes a Swagger 2.0 document (swaggerV2()) as openapi.v2.Document. */
export function encodeSwaggerProto(doc: Json): Buffer {
  const info = isObject(doc.info) ? doc.info : {};
  const definitions = new Message();
  for (const [name, s] of Object.entries(isObject(doc.definitions) ? doc.definitions : {})) definitions.message(1, new Message().string(1, name).message(2, schema(s)));
  return new Message()
    .string(1, doc.swagger)
    .message(2, new Message().string(1, info.title).string(2, info.version))
    .message(8, new Message())
    .message(9, definitions)
    .toBuffer();
}
