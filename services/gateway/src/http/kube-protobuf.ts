import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { WireError, WireReader, WireType, wireTypeName } from './protobuf-wire';

/**
 * Kubernetes protobuf request bodies (application/vnd.kubernetes.protobuf), which kubectl's typed
 * clients send for built-in kinds: `kubectl create namespace`, `kubectl auth can-i`. Decoded to the
 * JSON object a JSON body of the same object would be (Go's encoding/json: empty strings, zero
 * integers and absent fields left out; pointer fields kept when present), so the rest of the
 * gateway never knows the difference.
 *
 * Envelope (k8s.io/apimachinery/pkg/runtime): the 4 bytes "k8s\0", then runtime.Unknown
 * { 1: typeMeta {1: apiVersion, 2: kind}, 2: raw (the object), 3: contentEncoding, 4: contentType }.
 * Field numbers of the objects: k8s.io/api/core/v1/generated.proto, k8s.io/api/authorization/v1/generated.proto
 * and k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto. Fields not described here (status,
 * creationTimestamp, managedFields, ...) are skipped, as a server ignores what it does not read.
 */
export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from('k8s\0', 'latin1');

type Scalar = 'string' | 'int64' | 'bool';
const isScalar = (type: string): type is Scalar => type === 'string' || type === 'int64' || type === 'bool';
interface FieldSpec {
  name: string;
  /** A scalar, `map` (map<string, string>), or the name of a message in SCHEMAS. */
  type: Scalar | 'map' | string;
  repeated?: true;
  /** A pointer field in Go (`*int64`, `*bool`, `*string`): kept when sent, even empty or zero. */
  presence?: true;
}
type Schema = Readonly<Record<number, FieldSpec>>;

const SCHEMAS: Readonly<Record<string, Schema>> = {
  // meta/v1
  ObjectMeta: {
    1: { name: 'name', type: 'string' },
    2: { name: 'generateName', type: 'string' },
    3: { name: 'namespace', type: 'string' },
    5: { name: 'uid', type: 'string' },
    6: { name: 'resourceVersion', type: 'string' },
    11: { name: 'labels', type: 'map' },
    12: { name: 'annotations', type: 'map' },
    13: { name: 'ownerReferences', type: 'OwnerReference', repeated: true },
    14: { name: 'finalizers', type: 'string', repeated: true },
  },
  OwnerReference: {
    1: { name: 'kind', type: 'string' },
    3: { name: 'name', type: 'string' },
    4: { name: 'uid', type: 'string' },
    5: { name: 'apiVersion', type: 'string' },
    6: { name: 'controller', type: 'bool', presence: true },
    7: { name: 'blockOwnerDeletion', type: 'bool', presence: true },
  },
  DeleteOptions: {
    1: { name: 'gracePeriodSeconds', type: 'int64', presence: true },
    2: { name: 'preconditions', type: 'Preconditions' },
    3: { name: 'orphanDependents', type: 'bool', presence: true },
    4: { name: 'propagationPolicy', type: 'string', presence: true },
    5: { name: 'dryRun', type: 'string', repeated: true },
  },
  Preconditions: {
    1: { name: 'uid', type: 'string', presence: true },
    2: { name: 'resourceVersion', type: 'string', presence: true },
  },
  // core/v1 (status, field 3, is the server's: not read)
  Namespace: {
    1: { name: 'metadata', type: 'ObjectMeta' },
    2: { name: 'spec', type: 'NamespaceSpec' },
  },
  NamespaceSpec: { 1: { name: 'finalizers', type: 'string', repeated: true } },
  // authorization/v1
  SelfSubjectAccessReview: {
    1: { name: 'metadata', type: 'ObjectMeta' },
    2: { name: 'spec', type: 'SelfSubjectAccessReviewSpec' },
  },
  SelfSubjectAccessReviewSpec: {
    1: { name: 'resourceAttributes', type: 'ResourceAttributes' },
    2: { name: 'nonResourceAttributes', type: 'NonResourceAttributes' },
  },
  ResourceAttributes: {
    1: { name: 'namespace', type: 'string' },
    2: { name: 'verb', type: 'string' },
    3: { name: 'group', type: 'string' },
    4: { name: 'version', type: 'string' },
    5: { name: 'resource', type: 'string' },
    6: { name: 'subresource', type: 'string' },
    7: { name: 'name', type: 'string' },
  },
  NonResourceAttributes: {
    1: { name: 'path', type: 'string' },
    2: { name: 'verb', type: 'string' },
  },
};

/** An apiVersion and kind: what a URL takes as its body, or what a protobuf envelope declares. */
export interface BodyKind {
  apiVersion: string;
  kind: string;
}

/** The kinds accepted as protobuf bodies, and where. DeleteOptions is accepted under any group version, as kube registers it in each. */
const ACCEPTED: readonly { kind: string; apiVersion?: string; where: string }[] = [
  { apiVersion: 'v1', kind: 'Namespace', where: 'create and replace of /api/v1/namespaces' },
  { kind: 'DeleteOptions', where: 'the body of a delete' },
  { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', where: 'kubectl auth can-i' },
];

/** "v1 Namespace (create and replace of /api/v1/namespaces), DeleteOptions (...), ..." for messages and docs. */
export const PROTOBUF_BODY_KINDS = ACCEPTED.map((a) => `${a.apiVersion ? `${a.apiVersion} ` : ''}${a.kind} (${a.where})`).join(', ');

const kindName = (k: BodyKind) => `${k.apiVersion || '""'} ${k.kind || '""'}`;

/** Whether a URL taking `expected` accepts it as protobuf. */
export function acceptsProtobuf(expected: BodyKind | undefined): boolean {
  return expected !== undefined && ACCEPTED.some((a) => a.kind === expected.kind && (a.apiVersion === undefined || a.apiVersion === expected.apiVersion));
}

/** 415 for a protobuf body where none is accepted, naming what is and that JSON and YAML always are. */
export function protobufNotAccepted(expected: BodyKind | undefined): FlotillaError {
  const what = expected ? kindName(expected) : 'this request';
  return new FlotillaError(
    ErrorReason.UnsupportedMediaType,
    `${PROTOBUF_MEDIA_TYPE} is not accepted for ${what}: protobuf bodies are accepted only for ${PROTOBUF_BODY_KINDS}; send it as JSON or YAML (application/json, application/yaml), which every endpoint accepts`,
  );
}

const invalid = (problem: string) =>
  new FlotillaError(ErrorReason.BadRequest, `the request body is not valid Kubernetes protobuf: ${problem}`, {
    causes: [{ reason: 'FieldValueInvalid', field: 'body', message: problem }],
  });

type Json = Record<string, unknown>;

/** Where a WireError happened, for the message ("at metadata.labels"); set by the innermost message. */
const located = new WeakMap<WireError, string>();

function scalar(r: WireReader, type: Scalar, wire: number): string | number | boolean {
  const expected = type === 'string' ? WireType.LengthDelimited : WireType.Varint;
  if (wire !== expected) throw new WireError(`it has wire type ${wireTypeName(wire)}, expected ${wireTypeName(expected)}`);
  if (type === 'string') return r.string();
  if (type === 'int64') return r.int64();
  return r.bool();
}

function mapEntry(r: WireReader): [string, string] {
  let key = '';
  let value = '';
  while (!r.done) {
    const { field, wire } = r.key();
    if (field === 1 || field === 2) {
      const s = scalar(r, 'string', wire) as string;
      if (field === 1) key = s;
      else value = s;
    } else r.skip(wire);
  }
  return [key, value];
}

const isEmpty = (v: unknown) => v === '' || v === 0 || v === false;

function decodeMessage(r: WireReader, type: string, path: string): Json {
  const schema = SCHEMAS[type]!;
  const out: Json = {};
  // Maps are gathered apart and made objects at the end with Object.fromEntries, so a key such as
  // "__proto__" is an own property, as JSON.parse makes it.
  const maps = new Map<string, Map<string, string>>();
  while (!r.done) {
    const { field, wire } = r.key();
    const spec = schema[field];
    if (!spec) {
      r.skip(wire);
      continue;
    }
    const at = path ? `${path}.${spec.name}` : spec.name;
    try {
      if (spec.type === 'map') {
        if (wire !== WireType.LengthDelimited) throw new WireError(`it has wire type ${wireTypeName(wire)}, expected ${wireTypeName(WireType.LengthDelimited)}`);
        const map = maps.get(spec.name) ?? new Map<string, string>();
        const [key, value] = mapEntry(r.message());
        map.set(key, value);
        if (map.size > r.limits.maxMapEntries) throw new WireError(`it has more than ${r.limits.maxMapEntries} entries`);
        maps.set(spec.name, map);
        continue;
      }
      let value: unknown;
      if (isScalar(spec.type)) {
        value = scalar(r, spec.type, wire);
        if (!spec.presence && !spec.repeated && isEmpty(value)) continue;
      } else {
        if (wire !== WireType.LengthDelimited) throw new WireError(`it has wire type ${wireTypeName(wire)}, expected ${wireTypeName(WireType.LengthDelimited)}`);
        value = decodeMessage(r.message(), spec.type, at);
      }
      if (spec.repeated) {
        const list = (out[spec.name] as unknown[] | undefined) ?? [];
        if (list.length >= r.limits.maxRepeated) throw new WireError(`it has more than ${r.limits.maxRepeated} values`);
        list.push(value);
        out[spec.name] = list;
      } else out[spec.name] = value;
    } catch (error) {
      if (error instanceof WireError && !located.has(error)) located.set(error, at);
      throw error;
    }
  }
  for (const [name, map] of maps) out[name] = Object.fromEntries(map);
  return out;
}

/**
 * Decodes a Kubernetes protobuf body into its JSON form (`apiVersion`, `kind`, then the object's
 * fields). The envelope must declare the kind the URL takes (`expected`, one of the accepted
 * kinds); a DeleteOptions may declare meta.k8s.io/v1, v1 or the URL's group version. Malformed
 * input is a 400 naming the problem and where; it never throws anything else.
 */
export function decodeKubernetesProtobuf(raw: Buffer, expected: BodyKind): Json {
  if (!acceptsProtobuf(expected)) throw protobufNotAccepted(expected);
  if (raw.length < MAGIC.length || !raw.subarray(0, MAGIC.length).equals(MAGIC)) throw invalid('it does not start with the Kubernetes protobuf prefix "k8s\\0"');
  try {
    const envelope = new WireReader(raw.subarray(MAGIC.length));
    const declared: BodyKind = { apiVersion: '', kind: '' };
    let object: Buffer | undefined;
    let encoding = '';
    while (!envelope.done) {
      const { field, wire } = envelope.key();
      if (field === 1 && wire === WireType.LengthDelimited) {
        const typeMeta = envelope.message();
        while (!typeMeta.done) {
          const key = typeMeta.key();
          if (key.field === 1) declared.apiVersion = scalar(typeMeta, 'string', key.wire) as string;
          else if (key.field === 2) declared.kind = scalar(typeMeta, 'string', key.wire) as string;
          else typeMeta.skip(key.wire);
        }
      } else if (field === 2 && wire === WireType.LengthDelimited) object = envelope.bytes(raw.length);
      else if (field === 3 && wire === WireType.LengthDelimited) encoding = envelope.string();
      else envelope.skip(wire);
    }
    if (encoding !== '') throw invalid(`its content encoding "${encoding.slice(0, 32)}" is not supported; send it uncompressed`);
    const matches =
      declared.kind === expected.kind &&
      (declared.apiVersion === expected.apiVersion || (expected.kind === 'DeleteOptions' && ['meta.k8s.io/v1', 'v1'].includes(declared.apiVersion)));
    if (!matches) {
      throw new FlotillaError(ErrorReason.BadRequest, `the request body declares ${kindName({ apiVersion: declared.apiVersion.slice(0, 64), kind: declared.kind.slice(0, 64) })}, but this URL takes ${kindName(expected)}`, {
        causes: [{ reason: 'FieldValueInvalid', field: 'kind', message: `expected ${kindName(expected)}` }],
      });
    }
    const body = decodeMessage(new WireReader(object ?? Buffer.alloc(0), 1, envelope.limits), expected.kind, '');
    return { apiVersion: declared.apiVersion, kind: declared.kind, ...body };
  } catch (error) {
    if (error instanceof WireError) {
      const at = located.get(error);
      throw invalid(`${error.message}${at ? ` (at ${at})` : ''}`);
    }
    throw error;
  }
}
