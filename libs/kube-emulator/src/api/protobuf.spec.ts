import { ProtobufError, decodeKubernetesProtobuf } from './protobuf';

/** Protobuf encoding by hand, as kubectl's typed clients send it. */
function varint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}
const field = (no: number, payload: Buffer): Buffer => Buffer.concat([varint(no * 8 + 2), varint(payload.length), payload]);
const str = (no: number, s: string): Buffer => field(no, Buffer.from(s, 'utf8'));
function envelope(kind: string, raw: Buffer): Buffer {
  const typeMeta = Buffer.concat([str(1, 'v1'), str(2, kind)]);
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), field(1, typeMeta), field(2, raw)]);
}

describe('decodeKubernetesProtobuf (the emulator reading kubectl protobuf bodies)', () => {
  it('decodes a Namespace with labels and finalizers to the JSON object kubectl meant', () => {
    const label = Buffer.concat([str(1, 'team'), str(2, 'blue')]);
    const metadata = Buffer.concat([str(1, 'payments'), field(11, label)]);
    const spec = Buffer.concat([str(1, 'kubernetes'), str(1, 'example.com/keep')]);
    const body = decodeKubernetesProtobuf(envelope('Namespace', Buffer.concat([field(1, metadata), field(2, spec)])));
    expect(body).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'payments', labels: { team: 'blue' } }, spec: { finalizers: ['kubernetes', 'example.com/keep'] } });
  });

  it('refuses a field whose length runs past the end of its message instead of reading a shorter value', () => {
    // metadata says 200 bytes follow; 8 do.
    const truncated = Buffer.concat([varint(1 * 8 + 2), varint(200), Buffer.from('payments')]);
    expect(() => decodeKubernetesProtobuf(envelope('Namespace', truncated))).toThrow(ProtobufError);
    expect(() => decodeKubernetesProtobuf(envelope('Namespace', truncated))).toThrow(/runs past the end of its message/);
  });

  it('refuses a fixed-width field cut short and a varint longer than 10 bytes', () => {
    const fixed64 = Buffer.concat([varint(15 * 8 + 1), Buffer.from([1, 2, 3])]);
    expect(() => decodeKubernetesProtobuf(envelope('Namespace', fixed64))).toThrow(/runs past the end/);
    const endless = Buffer.concat([varint(7 * 8), Buffer.alloc(12, 0xff), Buffer.from([0x01])]);
    expect(() => decodeKubernetesProtobuf(envelope('ConfigMap', Buffer.concat([field(1, endless)])))).toThrow(/varint longer than 10 bytes/);
  });

  it('reads a body of many short repeated fields in one pass (every one kept)', () => {
    // 300,000 empty finalizers, 600 KB: copying the array on each element took minutes.
    const n = 300_000;
    const spec = Buffer.alloc(n * 2);
    for (let i = 0; i < n; i++) spec[i * 2] = 1 * 8 + 2;
    const body = decodeKubernetesProtobuf(envelope('Namespace', field(2, spec)));
    expect((body.spec as { finalizers: string[] }).finalizers).toHaveLength(n);
  });
});
