import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { formatBytes, ParseLimitError, parseJsonBounded, parseYamlBounded } from '@flotilla/parsing';

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

/**
 * Decodes a create or replace body: JSON, or a single YAML document (no aliases), under the bounds
 * of @flotilla/parsing (size, depth, nodes), so no body, repeated any number of times, can exhaust
 * the gateway's stack, memory or CPU.
 */
export function decodeObjectBody(raw: Buffer | undefined, contentType: string | undefined): unknown {
  const type = mediaType(contentType);
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
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
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
