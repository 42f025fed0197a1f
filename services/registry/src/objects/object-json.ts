import type { StoredObject } from '@flotilla/clients';
import type { objectsV1 } from '@flotilla/contracts';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { ParseLimitError, formatBytes, parseJsonBounded } from '@flotilla/parsing';
import { MAX_OBJECT_BYTES } from './object-rules';

/**
 * Reads JSON text that came over gRPC, under a size and depth bound. Too large, too deep or not
 * JSON is Invalid naming `field`, with the limit (never the text itself) in the message.
 */
export function parseJsonField(text: string, field: string, maxBytes = MAX_OBJECT_BYTES): unknown {
  try {
    return parseJsonBounded(text, field, { maxBytes });
  } catch (error) {
    if (!(error instanceof ParseLimitError)) throw error;
    const message = error.kind === 'size' ? `must be at most ${formatBytes(maxBytes)} of JSON` : error.detail;
    throw new FlotillaError(ErrorReason.Invalid, `${field}: ${message}`, { causes: [{ reason: error.kind === 'size' ? 'FieldValueTooLong' : 'FieldValueInvalid', field, message }] });
  }
}

export function storedObjectToProto(o: StoredObject): objectsV1.StoredObject {
  return { resource: o.resource, namespace: o.namespace, name: o.name, resourceVersion: o.resourceVersion, objectJson: JSON.stringify(o.object) };
}
