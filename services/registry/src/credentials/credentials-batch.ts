import { ErrorReason, FlotillaError } from '@flotilla/domain';
import type { OpenedCredentials } from './credential-vault';

/** Names per BatchGetClusterCredentials call. */
export const MAX_BATCH_NAMES = 1000;
/**
 * Credential bytes per answer. gRPC's default message limit is 4 MiB; kubeconfigs are bounded at
 * creation, but a thousand large ones would not fit, so an answer stops here and names the rest.
 */
export const MAX_BATCH_BYTES = 3 * 1024 * 1024;
/** Longest cluster name (a DNS subdomain). */
const MAX_NAME_LENGTH = 253;

export interface CredentialsBatch {
  items: OpenedCredentials[];
  /** Names that are not stored clusters. */
  missing: string[];
  /** Names not answered for the byte budget: the caller asks again. */
  remaining: string[];
}

/** The names of a batch request, checked and deduplicated in order; a bad request names the field and the fix. */
export function batchNames(names: readonly string[] | undefined): string[] {
  const list = names ?? [];
  const fail = (message: string) => new FlotillaError(ErrorReason.BadRequest, `names: ${message}`, { causes: [{ reason: 'FieldValueInvalid', field: 'names', message }] });
  if (list.length > MAX_BATCH_NAMES) throw fail(`at most ${MAX_BATCH_NAMES} names a call, got ${list.length}: split the request`);
  const bad = list.find((n) => typeof n !== 'string' || n.length === 0 || n.length > MAX_NAME_LENGTH);
  if (bad !== undefined) throw fail(`each name must be 1-${MAX_NAME_LENGTH} characters`);
  return [...new Set(list)];
}

/**
 * Orders the opened credentials as asked, lists the missing names, and cuts the answer at the
 * byte budget (always at least one item, so a caller asking again makes progress).
 */
export function packBatch(names: readonly string[], opened: readonly OpenedCredentials[], maxBytes = MAX_BATCH_BYTES): CredentialsBatch {
  const byName = new Map(opened.map((o) => [o.name, o]));
  const items: OpenedCredentials[] = [];
  const missing: string[] = [];
  const remaining: string[] = [];
  let bytes = 0;
  for (const name of names) {
    const o = byName.get(name);
    if (!o) {
      missing.push(name);
      continue;
    }
    const size = (o.credentials.kubeconfig?.length ?? 0) + (o.credentials.token?.length ?? 0) + name.length + 128;
    if (items.length > 0 && (remaining.length > 0 || bytes + size > maxBytes)) {
      remaining.push(name);
      continue;
    }
    bytes += size;
    items.push(o);
  }
  return { items, missing, remaining };
}
