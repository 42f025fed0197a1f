import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { DEFAULT_PARSE_LIMITS, formatBytes, ParseLimitError, parseJsonBounded, parseYamlBounded } from '@flotilla/parsing';
import { BodyKind, PROTOBUF_MEDIA_TYPE, decodeKubernetesProtobuf, protobufNotAccepted } from './kube-protobuf';

export type { BodyKind } from './kube-protobuf';

const JSON_TYPES = ['application/json', ''];
const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];

const mediaType = (contentType: string | undefined) => (contentType ?? '').split(';')[0]!.trim().toLowerCase();

function bad(message: string, field = 'body'): FlotillaError {
  return new FlotillaError(ErrorReason.BadRequest, message, { causes: [{ reason: 'FieldValueInvalid', field, message }] });
}

/**
 * A refusal of the bounded parser as a Kubernetes Status: 413 RequestEntityTooLarge for size,
 * 400 BadRequest naming the limit (depth, nodes, aliases, documents) or the syntax error otherwise.
 */
function refused(error: unknown, field: string): FlotillaError {
  if (!(error instanceof ParseLimitError)) throw error;
  if (error.kind === 'size') {
    return new FlotillaError(ErrorReason.RequestEntityTooLarge, `${error.message}: send at most ${formatBytes(error.facts.limit ?? 0)}`, {
      causes: [{ reason: 'FieldValueTooLong', field, message: error.message }],
    });
  }
  return bad(error.message, field);
}

/** 413 for a body over the bound every decoder shares (3 MiB), naming it. */
function tooLarge(raw: Buffer): FlotillaError | undefined {
  const limit = DEFAULT_PARSE_LIMITS.maxBytes;
  if (raw.length <= limit) return undefined;
  const message = `the request body is larger than ${formatBytes(limit)}`;
  return new FlotillaError(ErrorReason.RequestEntityTooLarge, `${message}: send at most ${formatBytes(limit)}`, { causes: [{ reason: 'FieldValueTooLong', field: 'body', message }] });
}

/**
 * Decodes a create or replace body (or a delete's DeleteOptions): JSON, or a single YAML document
 * (no aliases), under the bounds of @flotilla/parsing (size, depth, nodes), so no body, repeated
 * any number of times, can exhaust the gateway's stack, memory or CPU. Kubernetes protobuf
 * (what kubectl's typed clients send for built-in kinds) is decoded to the same JSON object when
 * the URL's kind (`expected`) is one accepted as protobuf and the body declares that kind;
 * otherwise it is 415, naming the kinds accepted as protobuf.
 */
export function decodeObjectBody(raw: Buffer | undefined, contentType: string | undefined, expected?: BodyKind): unknown {
  const type = mediaType(contentType);
  if (type === PROTOBUF_MEDIA_TYPE) {
    if (!raw || raw.length === 0) throw bad('the request body is empty: send the object as JSON, YAML or Kubernetes protobuf');
    const oversized = tooLarge(raw);
    if (oversized) throw oversized;
    if (!expected) throw protobufNotAccepted(undefined);
    return decodeKubernetesProtobuf(raw, expected);
  }
  const text = raw && raw.length > 0 ? raw.toString('utf8') : '';
  if (text.trim() === '') throw bad('the request body is empty: send a Cluster object as JSON or YAML');
  if (JSON_TYPES.includes(type)) {
    try {
      return parseJsonBounded(text, 'the request body');
    } catch (error) {
      throw refused(error, 'body');
    }
  }
  if (YAML_TYPES.includes(type)) {
    try {
      return parseYamlBounded(text, 'the request body');
    } catch (error) {
      throw refused(error, 'body');
    }
  }
  throw new FlotillaError(
    ErrorReason.UnsupportedMediaType,
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, and ${PROTOBUF_MEDIA_TYPE} for some built-in kinds`,
  );
}

/**
 * The text of a PATCH body, checked here against the same bounds (size, JSON syntax, depth) before it
 * travels to the registry, which applies it. The registry parses it again; it never sees a patch the
 * gateway would refuse.
 */
export function patchBodyText(raw: Buffer | undefined): string {
  const text = raw && raw.length > 0 ? raw.toString('utf8') : '';
  if (text.trim() === '') throw bad('the patch body is empty', 'patch');
  try {
    parseJsonBounded(text, 'the patch');
  } catch (error) {
    throw refused(error, 'patch');
  }
  return text;
}
