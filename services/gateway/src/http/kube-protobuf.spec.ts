import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import { FlotillaError } from '@flotilla/domain';
import { thrownBy } from '@flotilla/testing';
import { decodeObjectBody } from './body';
import { PROTOBUF_MEDIA_TYPE } from './kube-protobuf';
import { WireError, WireReader } from './protobuf-wire';

/**
 * Kubernetes protobuf bodies: what a real kubectl v1.33 sent (recorded), and bodies encoded by
 * protobufjs from fixtures/k8s-bodies.proto (upstream field numbers), decoded to the JSON a JSON
 * body would be; and everything malformed refused as a 400 naming the problem, never a crash.
 */
const root = protobuf.loadSync(join(__dirname, 'fixtures', 'k8s-bodies.proto'));
const type = (name: string) => root.lookupType(`k8s.test.${name}`);
const encode = (name: string, value: Record<string, unknown>) => Buffer.from(type(name).encode(type(name).fromObject(value)).finish());
const envelope = (apiVersion: string, kind: string, raw: Buffer, extra: Record<string, unknown> = {}) =>
  Buffer.concat([Buffer.from('k8s\0', 'latin1'), encode('Unknown', { typeMeta: { apiVersion, kind }, raw, contentEncoding: '', contentType: '', ...extra })]);

const NAMESPACE = { apiVersion: 'v1', kind: 'Namespace' };
const DELETE = { apiVersion: 'v1', kind: 'DeleteOptions' };
const decode = (body: Buffer, expected: { apiVersion: string; kind: string } | undefined = NAMESPACE) => decodeObjectBody(body, PROTOBUF_MEDIA_TYPE, expected);
/** A body sent where no kind is known (e.g. the clusters controller, which passes none). */
const decodeAnywhere = (body: Buffer) => decodeObjectBody(body, PROTOBUF_MEDIA_TYPE);
/** The body with the first occurrence of a one-character string's byte replaced. */
const withByte = (body: Buffer, char: string, value: number) => {
  const out = Buffer.from(body);
  out[out.indexOf(char)] = value;
  return out;
};
const refusal = (fn: () => unknown): FlotillaError => thrownBy(fn, FlotillaError);

describe('Kubernetes protobuf request bodies', () => {
  it('decodes what a real kubectl v1.33 sends for `kubectl create namespace team-a` to the JSON kubectl would send', () => {
    const recorded = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'kubectl-v1.33-create-namespace.json'), 'utf8')) as { contentType: string; bodyBase64: string };
    const body = Buffer.from(recorded.bodyBase64, 'base64');
    // kubectl's JSON for the same object: {"kind":"Namespace","apiVersion":"v1","metadata":{"name":"team-a","creationTimestamp":null},"spec":{},"status":{}}
    // (creationTimestamp and status are the server's, not read).
    expect(decodeObjectBody(body, recorded.contentType, NAMESPACE)).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' }, spec: {} });
  });

  it('decodes a Namespace with every metadata field Flotilla reads, skipping the server-owned ones', () => {
    const ns = encode('Namespace', {
      metadata: {
        name: 'shop',
        generateName: 'shop-',
        uid: '0b0c3f53-2d5e-4a8f-9f0e-8d7c6b5a4f3e',
        resourceVersion: '42',
        generation: 3,
        selfLink: '/api/v1/namespaces/shop',
        creationTimestamp: { seconds: 1_700_000_000 },
        labels: { team: 'web', 'example.com/tier': 'front' },
        annotations: { note: 'ünïcode ✓', empty: '' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: 'u-1', controller: false, blockOwnerDeletion: true }],
        finalizers: ['example.com/a', 'example.com/b'],
        managedFields: [{ manager: 'kubectl', operation: 'Update', apiVersion: 'v1' }],
      },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Terminating' },
    });
    expect(decode(envelope('v1', 'Namespace', ns))).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: 'shop',
        generateName: 'shop-',
        uid: '0b0c3f53-2d5e-4a8f-9f0e-8d7c6b5a4f3e',
        resourceVersion: '42',
        labels: { team: 'web', 'example.com/tier': 'front' },
        annotations: { note: 'ünïcode ✓', empty: '' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: 'u-1', controller: false, blockOwnerDeletion: true }],
        finalizers: ['example.com/a', 'example.com/b'],
      },
      spec: { finalizers: ['kubernetes'] },
    });
  });

  it('keeps a label named __proto__ as an own key, as JSON.parse does', () => {
    const entry = Buffer.concat([Buffer.from([0x0a, 9]), Buffer.from('__proto__'), Buffer.from([0x12, 1]), Buffer.from('x')]);
    const metadata = Buffer.concat([Buffer.from([0x0a, 1]), Buffer.from('p'), Buffer.from([0x5a, entry.length]), entry]);
    const decoded = decode(envelope('v1', 'Namespace', Buffer.concat([Buffer.from([0x0a, metadata.length]), metadata]))) as { metadata: { labels: object } };
    expect(decoded.metadata.labels).toEqual(JSON.parse('{"__proto__":"x"}'));
    expect(Object.keys(decoded.metadata.labels)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(decoded.metadata.labels)).toBe(Object.prototype);
  });

  it('decodes DeleteOptions under v1, meta.k8s.io/v1 or the URL group version, keeping a zero grace period', () => {
    const options = encode('DeleteOptions', { gracePeriodSeconds: 0, propagationPolicy: 'Foreground', preconditions: { uid: 'u-1', resourceVersion: '7' }, dryRun: ['All'], orphanDependents: false });
    const expected = { gracePeriodSeconds: 0, propagationPolicy: 'Foreground', preconditions: { uid: 'u-1', resourceVersion: '7' }, dryRun: ['All'], orphanDependents: false };
    for (const apiVersion of ['v1', 'meta.k8s.io/v1']) expect(decode(envelope(apiVersion, 'DeleteOptions', options), DELETE)).toEqual({ apiVersion, kind: 'DeleteOptions', ...expected });
    expect(decode(envelope('iam.kubesphere.io/v1beta1', 'DeleteOptions', options), { apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'DeleteOptions' })).toMatchObject(expected);
    const negative = encode('DeleteOptions', { gracePeriodSeconds: -1 });
    expect(decode(envelope('v1', 'DeleteOptions', negative), DELETE)).toEqual({ apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: -1 });
  });

  it('refuses protobuf with 415 where the URL takes a kind not accepted as protobuf, naming the accepted kinds and JSON/YAML', () => {
    const ns = envelope('v1', 'Namespace', encode('Namespace', { metadata: { name: 'x' } }));
    for (const attempt of [() => decode(ns, { apiVersion: 'cluster.kubesphere.io/v1alpha1', kind: 'Cluster' }), () => decodeAnywhere(ns)]) {
      const error = refusal(attempt);
      expect(error.reason).toBe('UnsupportedMediaType');
      expect(error.message).toMatch(/accepted only for v1 Namespace .*DeleteOptions .*SelfSubjectAccessReview/);
      expect(error.message).toMatch(/send it as JSON or YAML \(application\/json, application\/yaml\)/);
    }
    expect(refusal(() => decode(ns, { apiVersion: 'cluster.kubesphere.io/v1alpha1', kind: 'Cluster' })).message).toMatch(/^application\/vnd.kubernetes.protobuf is not accepted for cluster.kubesphere.io\/v1alpha1 Cluster:/);
  });

  it('refuses a body whose envelope declares another kind than the URL takes, naming both', () => {
    const error = refusal(() => decode(envelope('apps/v1', 'Deployment', encode('Namespace', { metadata: { name: 'x' } }))));
    expect(error.reason).toBe('BadRequest');
    expect(error.message).toBe('the request body declares apps/v1 Deployment, but this URL takes v1 Namespace');
    expect(refusal(() => decode(envelope('v2', 'Namespace', Buffer.alloc(0)))).message).toMatch(/declares v2 Namespace, but this URL takes v1 Namespace/);
  });

  it.each([
    ['no prefix', Buffer.from('{"kind":"Namespace"}'), /does not start with the Kubernetes protobuf prefix/],
    ['a compressed body', envelope('v1', 'Namespace', Buffer.alloc(0), { contentEncoding: 'gzip' }), /content encoding "gzip" is not supported/],
    ['a varint of 11 bytes', Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x08, ...Array(10).fill(0xff), 0x01])]), /varint is longer than 10 bytes/],
    ['a group (wire type 3)', Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x0b])]), /wire type start-group is not supported/],
    ['a string as a varint', envelope('v1', 'Namespace', Buffer.from([0x0a, 0x02, 0x08, 0x01])), /wire type varint, expected length-delimited \(at metadata.name\)/],
    ['invalid UTF-8 in a label', envelope('v1', 'Namespace', withByte(encode('Namespace', { metadata: { labels: { a: 'b' } } }), 'b', 0xff)), /not valid UTF-8 \(at metadata.labels\)/],
    ['an annotation over 256 KiB', envelope('v1', 'Namespace', encode('Namespace', { metadata: { annotations: { big: 'x'.repeat(256 * 1024 + 1) } } })), /longer than 262144 bytes \(at metadata.annotations\)/],
    ['1,001 labels', envelope('v1', 'Namespace', encode('Namespace', { metadata: { labels: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, 'v'])) } })), /more than 1000 entries \(at metadata.labels\)/],
    ['1,001 finalizers', envelope('v1', 'Namespace', encode('Namespace', { metadata: { finalizers: Array.from({ length: 1001 }, (_, i) => `f${i}`) } })), /more than 1000 values \(at metadata.finalizers\)/],
    ['a grace period beyond 2^53', envelope('v1', 'DeleteOptions', Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])), /integer is out of range \(at gracePeriodSeconds\)/, DELETE],
  ])('refuses %s with 400 naming the problem', (_name, body, message, expected = NAMESPACE) => {
    const error = refusal(() => decode(body, expected));
    expect(error.reason).toBe('BadRequest');
    expect(error.message).toMatch(message);
    expect(error.details.causes?.[0]?.field).toBe('body');
  });

  it('refuses a body over 3 MiB with 413 before decoding it', () => {
    const body = Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.alloc(3 * 1024 * 1024)]);
    const error = refusal(() => decode(body));
    expect(error.reason).toBe('RequestEntityTooLarge');
    expect(error.message).toMatch(/larger than 3 MiB/);
  });

  it('answers every cut-short or corrupted body with a FlotillaError, never anything else', () => {
    const good = envelope(
      'v1',
      'Namespace',
      encode('Namespace', { metadata: { name: 'shop', labels: { a: 'b' }, ownerReferences: [{ kind: 'K', name: 'n', controller: true }] }, spec: { finalizers: ['kubernetes'] } }),
    );
    for (let n = 0; n < good.length; n++) {
      try {
        decode(good.subarray(0, n));
      } catch (error) {
        expect(error).toBeInstanceOf(FlotillaError);
      }
    }
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 2000; i++) {
      const body = Buffer.from(good);
      for (let j = 0; j < 3; j++) body[4 + (next() % (body.length - 4))] = next() % 256;
      try {
        decode(body);
      } catch (error) {
        expect(error).toBeInstanceOf(FlotillaError);
      }
    }
  });

  it('bounds nesting in the wire reader itself', () => {
    let r = new WireReader(Buffer.alloc(0), 0, { maxDepth: 2, maxStringBytes: 10, maxMapEntries: 1, maxRepeated: 1 });
    const nested = Buffer.from([0x0a, 0x04, 0x0a, 0x02, 0x0a, 0x00]);
    r = new WireReader(nested, 0, r.limits);
    r.key();
    const one = r.message();
    one.key();
    const two = one.message();
    two.key();
    expect(() => two.message()).toThrow(new WireError('messages nest deeper than 2 levels'));
  });
});
