import { parseAllDocuments } from 'yaml';
import { ErrorReason, FlotillaError } from '@flotilla/domain';

const JSON_TYPES = ['application/json', ''];
const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];

const mediaType = (contentType: string | undefined) => (contentType ?? '').split(';')[0]!.trim().toLowerCase();

function bad(message: string): FlotillaError {
  return new FlotillaError(ErrorReason.BadRequest, message, { causes: [{ reason: 'FieldValueInvalid', field: 'body', message }] });
}

/** Decodes a create or replace body: JSON, or a single YAML document (no aliases). */
export function decodeObjectBody(raw: Buffer | undefined, contentType: string | undefined): unknown {
  const type = mediaType(contentType);
  const text = raw && raw.length > 0 ? raw.toString('utf8') : '';
  if (text.trim() === '') throw bad('the request body is empty: send a Cluster object as JSON or YAML');
  if (JSON_TYPES.includes(type)) {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw bad(`the request body is not valid JSON: ${error instanceof Error ? error.message : 'parse error'}`);
    }
  }
  if (YAML_TYPES.includes(type)) {
    const docs = parseAllDocuments(text, { uniqueKeys: true });
    if (!Array.isArray(docs) || docs.length !== 1) throw bad('the request body must hold exactly one YAML document');
    const doc = docs[0]!;
    if (doc.errors.length > 0) throw bad(`the request body is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
    try {
      return doc.toJS({ maxAliasCount: 0 });
    } catch {
      throw bad('the request body uses YAML aliases, which are not accepted');
    }
  }
  throw new FlotillaError(
    ErrorReason.UnsupportedMediaType,
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
  );
}

export function patchBodyText(raw: Buffer | undefined): string {
  const text = raw && raw.length > 0 ? raw.toString('utf8') : '';
  if (text.trim() === '') throw bad('the patch body is empty');
  return text;
}
