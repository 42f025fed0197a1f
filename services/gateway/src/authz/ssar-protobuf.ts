import { ErrorReason, FlotillaError } from '@flotilla/domain';

/**
 * Decoding of a SelfSubjectAccessReview sent as Kubernetes protobuf
 * (application/vnd.kubernetes.protobuf): kubectl's typed clients send it that way, so
 * `kubectl auth can-i` against Flotilla's own API needs it. Only the fields a review carries are
 * read (k8s.io/api/authorization/v1/generated.proto); everything else is skipped. The body is
 * already bounded by the caller (64 KiB), and nesting is at most four messages deep.
 *
 * Envelope (k8s.io/apimachinery/pkg/runtime): the 4 bytes "k8s\0", then runtime.Unknown
 * { 1: typeMeta {1: apiVersion, 2: kind}, 2: raw (the object), 3: contentEncoding, 4: contentType }.
 */
export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Fields = Map<number, Buffer[]>;

const bad = (message: string) => new FlotillaError(ErrorReason.BadRequest, `the protobuf body is not a SelfSubjectAccessReview: ${message}`, { causes: [{ reason: 'FieldValueInvalid', field: 'body', message }] });

/** The length-delimited fields of one message (wire type 2), by number; scalars are skipped. */
function fields(buf: Buffer): Fields {
  const out: Fields = new Map();
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= buf.length) throw bad('truncated varint');
      const b = buf[pos++]!;
      if (shift < 28) result |= (b & 0x7f) << shift;
      else if (shift > 63) throw bad('varint too long');
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  };
  while (pos < buf.length) {
    const key = varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (wire === 0) varint();
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = varint();
      if (pos + len > buf.length) throw bad('truncated field');
      const list = out.get(field) ?? [];
      list.push(buf.subarray(pos, pos + len));
      out.set(field, list);
      pos += len;
    } else throw bad(`unsupported wire type ${wire}`);
    if (pos > buf.length) throw bad('truncated field');
  }
  return out;
}

const str = (f: Fields, n: number): string | undefined => {
  const v = f.get(n)?.at(-1);
  return v === undefined ? undefined : v.toString('utf8');
};
const msg = (f: Fields, n: number): Fields | undefined => {
  const v = f.get(n)?.at(-1);
  return v === undefined ? undefined : fields(v);
};
const defined = (o: Record<string, string | undefined>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== ''));

/** The review as the JSON form the SSAR handler reads (apiVersion, kind, spec). */
export function decodeSelfSubjectAccessReview(raw: Buffer): unknown {
  if (raw.length < MAGIC.length || !raw.subarray(0, MAGIC.length).equals(MAGIC)) throw bad('it does not start with the Kubernetes protobuf prefix');
  const unknown = fields(raw.subarray(MAGIC.length));
  const typeMeta = msg(unknown, 1);
  const object = unknown.get(2)?.at(-1);
  if (!typeMeta || !object) throw bad('no type or no object');
  const review = fields(object);
  const spec = msg(review, 2);
  const r = spec && msg(spec, 1);
  const n = spec && msg(spec, 2);
  return {
    apiVersion: str(typeMeta, 1),
    kind: str(typeMeta, 2),
    spec: {
      ...(r ? { resourceAttributes: defined({ namespace: str(r, 1), verb: str(r, 2), group: str(r, 3), version: str(r, 4), resource: str(r, 5), subresource: str(r, 6), name: str(r, 7) }) } : {}),
      ...(n ? { nonResourceAttributes: defined({ path: str(n, 1), verb: str(n, 2) }) } : {}),
    },
  };
}
