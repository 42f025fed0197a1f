import type { ObjectChangePage, StoredObject } from '@flotilla/clients';
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

/** JSON bytes per stream message before a batch is split (an object is at most 1 MiB, so a message stays under 2 MiB). */
export const STREAM_BATCH_BYTES = 1024 * 1024;

/**
 * A page of changes as stream messages, split so no message nears gRPC's 4 MiB default: every
 * message but the last stands at its own last change, the last at the page's revision.
 */
export function changeBatches(page: ObjectChangePage, maxBytes = STREAM_BATCH_BYTES): objectsV1.ObjectChangeList[] {
  const out: objectsV1.ObjectChangeList[] = [];
  let batch: objectsV1.ObjectChange[] = [];
  let bytes = 0;
  for (const c of page.changes) {
    const object = storedObjectToProto(c.object);
    batch.push({ type: c.type, revision: c.revision, object });
    bytes += object.objectJson!.length;
    if (bytes >= maxBytes) {
      out.push({ changes: batch, revision: c.revision });
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length > 0 || out.length === 0) out.push({ changes: batch, revision: page.revision });
  else out[out.length - 1]!.revision = page.revision;
  return out;
}
