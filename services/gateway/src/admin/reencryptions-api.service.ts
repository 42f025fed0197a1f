import { Inject, Injectable } from '@nestjs/common';
import { ErrorCause, ErrorReason, FlotillaError, dns1123LabelErrors } from '@flotilla/domain';
import { CREDENTIALS_ADMIN_CLIENT, CredentialsAdminClient, KeyUsage, Reencryption } from '@flotilla/clients';

export const ADMIN_API_VERSION = 'admin.flotilla.io/v1alpha1';

/** A re-encryption run as the REST API shows it (counts of ciphertexts, never a credential). */
export interface ReencryptionObject {
  apiVersion: typeof ADMIN_API_VERSION;
  kind: 'Reencryption';
  metadata: { name: string; creationTimestamp: string };
  spec: { targetKeyId: string };
  status: {
    phase: Reencryption['phase'];
    rowsTotal: number;
    rowsDone: number;
    rowsRemaining: number;
    message?: string;
    completionTime?: string;
    /** Ciphertexts under each key now: a key at 0 can be removed from FLOTILLA_ENCRYPTION_KEYS. */
    keys: KeyUsage[];
  };
}

export interface ReencryptionListObject {
  apiVersion: typeof ADMIN_API_VERSION;
  kind: 'ReencryptionList';
  metadata: Record<string, never>;
  /** Ciphertexts under each key now. */
  keys: KeyUsage[];
  items: ReencryptionObject[];
}

function toObject(r: Reencryption): ReencryptionObject {
  return {
    apiVersion: ADMIN_API_VERSION,
    kind: 'Reencryption',
    metadata: { name: r.name, creationTimestamp: r.createdAt },
    spec: { targetKeyId: r.targetKeyId },
    status: {
      phase: r.phase,
      rowsTotal: r.rowsTotal,
      rowsDone: r.rowsDone,
      rowsRemaining: r.rowsRemaining,
      ...(r.message ? { message: r.message } : {}),
      ...(r.completedAt ? { completionTime: r.completedAt } : {}),
      keys: r.keys,
    },
  };
}

const notFound = (name: string) =>
  new FlotillaError(ErrorReason.NotFound, `reencryptions.admin.flotilla.io "${name}" not found`, { name, group: 'admin.flotilla.io', kind: 'reencryptions' });

/**
 * What a POST body may hold: nothing, or a Reencryption with no spec (a run always targets the
 * registry's current key, the first of FLOTILLA_ENCRYPTION_KEYS). Anything else is named.
 */
export function checkStartBody(body: unknown): void {
  if (body === undefined) return;
  const causes: ErrorCause[] = [];
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    causes.push({ reason: 'FieldValueInvalid', field: 'body', message: 'must be a Reencryption object, or empty' });
  } else {
    const o = body as Record<string, unknown>;
    if (o.apiVersion !== undefined && o.apiVersion !== ADMIN_API_VERSION) causes.push({ reason: 'FieldValueNotSupported', field: 'apiVersion', message: `must be "${ADMIN_API_VERSION}"` });
    if (o.kind !== undefined && o.kind !== 'Reencryption') causes.push({ reason: 'FieldValueNotSupported', field: 'kind', message: 'must be "Reencryption"' });
    for (const field of Object.keys(o).filter((k) => !['apiVersion', 'kind', 'metadata'].includes(k))) {
      causes.push({
        reason: 'FieldValueForbidden',
        field,
        message: 'may not be set: a re-encryption always moves every ciphertext to the current key (the first of FLOTILLA_ENCRYPTION_KEYS); send an empty body',
      });
    }
  }
  if (causes.length > 0) {
    throw new FlotillaError(ErrorReason.BadRequest, `Reencryption is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`, { causes });
  }
}

/** /apis/admin.flotilla.io/v1alpha1/reencryptions: start a re-encryption of every credential, and follow it. */
@Injectable()
export class ReencryptionsApiService {
  constructor(@Inject(CREDENTIALS_ADMIN_CLIENT) private readonly admin: CredentialsAdminClient) {}

  async start(body: unknown): Promise<{ created: boolean; body: ReencryptionObject }> {
    checkStartBody(body);
    const { run, created } = await this.admin.startReencryption();
    return { created, body: toObject(run) };
  }

  async get(name: string): Promise<ReencryptionObject> {
    if (dns1123LabelErrors(name).length > 0) throw notFound(name);
    return toObject(await this.admin.getReencryption(name));
  }

  async list(): Promise<ReencryptionListObject> {
    const { items, keys } = await this.admin.listReencryptions();
    return { apiVersion: ADMIN_API_VERSION, kind: 'ReencryptionList', metadata: {}, keys, items: items.map(toObject) };
  }
}
