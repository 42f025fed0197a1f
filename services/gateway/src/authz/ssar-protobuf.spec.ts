import { decodeSelfSubjectAccessReview } from './ssar-protobuf';

/** A length-delimited protobuf field (lengths < 128 here, so one-byte varints). */
const field = (n: number, value: Buffer | string) => {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value);
  return Buffer.concat([Buffer.from([(n << 3) | 2, bytes.length]), bytes]);
};
const envelope = (object: Buffer) =>
  Buffer.concat([Buffer.from('k8s\0', 'latin1'), field(1, Buffer.concat([field(1, 'authorization.k8s.io/v1'), field(2, 'SelfSubjectAccessReview')])), field(2, object), field(4, 'application/vnd.kubernetes.protobuf')]);

describe('SelfSubjectAccessReview in Kubernetes protobuf (what kubectl auth can-i sends)', () => {
  it('reads resource attributes, skipping scalars and unknown fields', () => {
    const attrs = Buffer.concat([field(1, 'default'), field(2, 'create'), field(3, 'cluster.kubesphere.io'), field(5, 'clusters'), field(6, 'proxy'), field(7, 'alpha'), field(9, Buffer.from([0x08, 0x01]))]);
    const review = Buffer.concat([field(1, field(1, '')), field(2, field(1, attrs)), Buffer.from([0x18, 0x05])]);
    expect(decodeSelfSubjectAccessReview(envelope(review))).toEqual({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { namespace: 'default', verb: 'create', group: 'cluster.kubesphere.io', resource: 'clusters', subresource: 'proxy', name: 'alpha' } },
    });
  });

  it('reads non-resource attributes', () => {
    const review = field(2, field(2, Buffer.concat([field(1, '/version'), field(2, 'get')])));
    expect(decodeSelfSubjectAccessReview(envelope(review))).toMatchObject({ spec: { nonResourceAttributes: { path: '/version', verb: 'get' } } });
  });

  it('refuses bodies without the prefix or cut short, with a 400 naming the body', () => {
    expect(() => decodeSelfSubjectAccessReview(Buffer.from('{"kind":"x"}'))).toThrow(/Kubernetes protobuf prefix/);
    const cut = envelope(field(2, field(1, field(2, 'get')))).subarray(0, 30);
    expect(() => decodeSelfSubjectAccessReview(cut)).toThrow(/not valid Kubernetes protobuf: .*cut short/);
  });

  it('refuses another kind in the envelope, naming both', () => {
    const other = Buffer.concat([Buffer.from('k8s\0', 'latin1'), field(1, Buffer.concat([field(1, 'v1'), field(2, 'Namespace')])), field(2, '')]);
    expect(() => decodeSelfSubjectAccessReview(other)).toThrow('the request body declares v1 Namespace, but this URL takes authorization.k8s.io/v1 SelfSubjectAccessReview');
  });
});
