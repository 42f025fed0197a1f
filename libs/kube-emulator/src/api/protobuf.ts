/**
 * Decoding of Kubernetes protobuf request bodies (application/vnd.kubernetes.protobuf), which
 * kubectl's typed clients send for built-in kinds (`kubectl create namespace|configmap|secret|
 * serviceaccount|token|role|clusterrole|rolebinding|clusterrolebinding`, `kubectl auth can-i`). Only the kinds listed in MESSAGES are decoded;
 * others are answered 415 so the gap is visible.
 */
import { type JsonObject, type JsonValue } from '@flotilla/apply';

type FieldType = 'string' | 'bytes' | 'int' | 'bool' | 'time' | 'map' | 'mapBytes' | string;
type MessageDesc = Record<number, [name: string, type: FieldType, repeated?: boolean]>;

const MESSAGES: Record<string, MessageDesc> = {
  ObjectMeta: {
    1: ['name', 'string'],
    2: ['generateName', 'string'],
    3: ['namespace', 'string'],
    5: ['uid', 'string'],
    6: ['resourceVersion', 'string'],
    7: ['generation', 'int'],
    11: ['labels', 'map'],
    12: ['annotations', 'map'],
    13: ['ownerReferences', 'OwnerReference', true],
    14: ['finalizers', 'string', true],
  },
  OwnerReference: { 1: ['kind', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'], 5: ['apiVersion', 'string'], 6: ['controller', 'bool'], 7: ['blockOwnerDeletion', 'bool'] },
  ObjectReference: { 1: ['kind', 'string'], 2: ['namespace', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'], 5: ['apiVersion', 'string'], 6: ['resourceVersion', 'string'], 7: ['fieldPath', 'string'] },
  LocalObjectReference: { 1: ['name', 'string'] },
  ConfigMap: { 1: ['metadata', 'ObjectMeta'], 2: ['data', 'map'], 3: ['binaryData', 'mapBytes'], 4: ['immutable', 'bool'] },
  Secret: { 1: ['metadata', 'ObjectMeta'], 2: ['data', 'mapBytes'], 3: ['type', 'string'], 4: ['stringData', 'map'], 5: ['immutable', 'bool'] },
  Namespace: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'NamespaceSpec'] },
  NamespaceSpec: { 1: ['finalizers', 'string', true] },
  ServiceAccount: { 1: ['metadata', 'ObjectMeta'], 2: ['secrets', 'ObjectReference', true], 3: ['imagePullSecrets', 'LocalObjectReference', true], 4: ['automountServiceAccountToken', 'bool'] },
  SelfSubjectAccessReview: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'SelfSubjectAccessReviewSpec'] },
  SelfSubjectAccessReviewSpec: { 1: ['resourceAttributes', 'ResourceAttributes'], 2: ['nonResourceAttributes', 'NonResourceAttributes'] },
  ResourceAttributes: { 1: ['namespace', 'string'], 2: ['verb', 'string'], 3: ['group', 'string'], 4: ['version', 'string'], 5: ['resource', 'string'], 6: ['subresource', 'string'], 7: ['name', 'string'] },
  NonResourceAttributes: { 1: ['path', 'string'], 2: ['verb', 'string'] },
  SelfSubjectRulesReview: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'SelfSubjectRulesReviewSpec'] },
  SelfSubjectRulesReviewSpec: { 1: ['namespace', 'string'] },
  TokenRequest: { 1: ['metadata', 'ObjectMeta'], 2: ['spec', 'TokenRequestSpec'] },
  TokenRequestSpec: { 1: ['audiences', 'string', true], 3: ['boundObjectRef', 'BoundObjectReference'], 4: ['expirationSeconds', 'int'] },
  BoundObjectReference: { 1: ['kind', 'string'], 2: ['apiVersion', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'] },
  DeleteOptions: { 1: ['gracePeriodSeconds', 'int'], 2: ['preconditions', 'Preconditions'], 3: ['orphanDependents', 'bool'], 4: ['propagationPolicy', 'string'], 5: ['dryRun', 'string', true] },
  Preconditions: { 1: ['uid', 'string'], 2: ['resourceVersion', 'string'] },
  // rbac.authorization.k8s.io/v1 (`kubectl create role|clusterrole|rolebinding|clusterrolebinding`)
  PolicyRule: { 1: ['verbs', 'string', true], 2: ['apiGroups', 'string', true], 3: ['resources', 'string', true], 4: ['resourceNames', 'string', true], 5: ['nonResourceURLs', 'string', true] },
  Role: { 1: ['metadata', 'ObjectMeta'], 2: ['rules', 'PolicyRule', true] },
  ClusterRole: { 1: ['metadata', 'ObjectMeta'], 2: ['rules', 'PolicyRule', true], 3: ['aggregationRule', 'AggregationRule'] },
  AggregationRule: { 1: ['clusterRoleSelectors', 'LabelSelector', true] },
  LabelSelector: { 1: ['matchLabels', 'map'], 2: ['matchExpressions', 'LabelSelectorRequirement', true] },
  LabelSelectorRequirement: { 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['values', 'string', true] },
  RoleBinding: { 1: ['metadata', 'ObjectMeta'], 2: ['subjects', 'Subject', true], 3: ['roleRef', 'RoleRef'] },
  ClusterRoleBinding: { 1: ['metadata', 'ObjectMeta'], 2: ['subjects', 'Subject', true], 3: ['roleRef', 'RoleRef'] },
  Subject: { 1: ['kind', 'string'], 2: ['apiGroup', 'string'], 3: ['name', 'string'], 4: ['namespace', 'string'] },
  RoleRef: { 1: ['apiGroup', 'string'], 2: ['kind', 'string'], 3: ['name', 'string'] },
};

export class ProtobufError extends Error {}

/**
 * Every read is checked against the end of its buffer: a length or fixed-width field that runs past
 * it is an error, never a silently shorter value (the body is already bounded: wire.ts MAX_BODY).
 */
class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) throw new ProtobufError('truncated varint');
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
    throw new ProtobufError('varint longer than 10 bytes');
  }
  private advance(n: number): number {
    if (n > this.buf.length - this.pos) throw new ProtobufError(`a field of ${n} bytes runs past the end of its message (${this.buf.length - this.pos} left)`);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  bytes(): Buffer {
    const n = this.varint();
    const at = this.advance(n);
    return this.buf.subarray(at, at + n);
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.advance(8);
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.advance(4);
    else throw new ProtobufError(`unsupported wire type ${wire}`);
  }
}

function decodeMessage(buf: Buffer, type: string): JsonObject {
  const desc = MESSAGES[type];
  if (!desc) throw new ProtobufError(`no protobuf description for ${type}`);
  const r = new Reader(buf);
  const out: JsonObject = {};
  while (!r.done) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    const d = desc[field];
    if (!d) {
      r.skip(wire);
      continue;
    }
    const [name, ft, repeated] = d;
    let value: JsonValue;
    if (ft === 'int') value = r.varint();
    else if (ft === 'bool') value = r.varint() !== 0;
    else if (ft === 'string') value = r.bytes().toString('utf8');
    else if (ft === 'bytes') value = r.bytes().toString('base64');
    else if (ft === 'map' || ft === 'mapBytes') {
      const entry = new Reader(r.bytes());
      let k = '';
      let v: string = '';
      while (!entry.done) {
        const t = entry.varint();
        const b = entry.bytes();
        if (t >> 3 === 1) k = b.toString('utf8');
        else v = ft === 'map' ? b.toString('utf8') : b.toString('base64');
      }
      const m = (out[name] as JsonObject | undefined) ?? {};
      m[k] = v;
      out[name] = m;
      continue;
    } else value = decodeMessage(r.bytes(), ft);
    // Appended in place: copying the array on each element made a body of many short repeated
    // fields (3 MiB of empty strings is 1.5 million) quadratic.
    if (repeated) ((out[name] as JsonValue[] | undefined) ?? (out[name] = [])).push(value);
    else out[name] = value;
  }
  return out;
}

/** Decodes a `k8s\0` + runtime.Unknown envelope into a JSON object. */
export function decodeKubernetesProtobuf(buf: Buffer): JsonObject {
  if (buf.length < 4 || buf.subarray(0, 4).toString('latin1') !== 'k8s\u0000') throw new ProtobufError('missing k8s protobuf magic');
  const r = new Reader(buf.subarray(4));
  let apiVersion = '';
  let kind = '';
  let raw: Buffer = Buffer.alloc(0);
  while (!r.done) {
    const tag = r.varint();
    const f = tag >> 3;
    if (f === 1) {
      const tm = new Reader(r.bytes());
      while (!tm.done) {
        const t = tm.varint();
        const s = tm.bytes().toString('utf8');
        if (t >> 3 === 1) apiVersion = s;
        else kind = s;
      }
    } else if (f === 2) raw = r.bytes();
    else r.skip(tag & 7);
  }
  const body = decodeMessage(raw, kind);
  return { apiVersion, kind, ...body };
}
