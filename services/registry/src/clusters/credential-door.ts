import { createHash, timingSafeEqual } from 'node:crypto';
import { CLUSTER_CREDENTIAL_FIELDS, Cluster, ClusterCredentials, ClusterErrors, ErrorCause, FlotillaError, ImportAnnotations, SERVICE_ACCOUNT_CREDENTIALS, credentialDoor } from '@flotilla/domain';
import { InternalIdentity } from '@flotilla/service-kit';

/**
 * Who writes a cluster, as far as its credentials go (issue 12, "one door"):
 * - `door`: provider-import, which writes credentials only after the kubeconfig guard, the import
 *   checks and the same-member check (`PUT .../clusters/{name}/kubeconfig`, the import's lasting
 *   service-account kubeconfig); and the operator identity, break-glass for tools and test
 *   harnesses, which may call everything and exists only where FLOTILLA_INTERNAL_CALLERS names it;
 * - `resource-api`: everyone else, above all the REST API through the gateway, who may resend the
 *   stored credential or leave it out, but not change it. On the service-account path it may also
 *   resend the credential the user submitted that the door superseded with a lasting one (the
 *   original file, re-applied): that counts as no change, and the stored credential stays
 *   (CredentialVault.recordSuperseded / notSuperseded keep and check its keyed fingerprint).
 */
export type CredentialWriter = 'door' | 'resource-api';

const DOOR_IDENTITIES: readonly string[] = [InternalIdentity.ProviderImport, InternalIdentity.Operator];

/** The writer a gRPC caller is, from the identity the internal caller check authenticated. */
export function credentialWriterOf(callerIdentity: string | undefined): CredentialWriter {
  return callerIdentity !== undefined && DOOR_IDENTITIES.includes(callerIdentity) ? 'door' : 'resource-api';
}

/**
 * Whether the door's credential writes to this cluster store a kubeconfig Flotilla made (the
 * service-account path: the import's lasting kubeconfig, its renewals, a rotation turned into a
 * lasting one), so that the user's credential they replace is superseded rather than withdrawn.
 */
export function doorWritesAreLasting(cluster: Pick<Cluster, 'metadata'>): boolean {
  return (cluster.metadata.annotations ?? {})[ImportAnnotations.credentials] === SERVICE_ACCOUNT_CREDENTIALS;
}

/** Equal in constant time (for equal lengths of digest): SHA-256 of both, compared with timingSafeEqual. */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/**
 * The credential fields an update would change: those it carries (a field left out, or empty as
 * GET shows it, keeps the stored value) that differ from the stored, decrypted ones. Kubeconfigs
 * are compared as validation stored them (base64 decoded to the YAML text).
 */
export function changedCredentialFields(stored: ClusterCredentials, incoming: ClusterCredentials): string[] {
  return CLUSTER_CREDENTIAL_FIELDS.filter((field) => {
    const next = incoming[field];
    if (next === undefined || next === '') return false;
    const current = stored[field];
    return current === undefined || !sameSecret(current, next);
  });
}

/** Invalid (422) with a FieldValueForbidden cause on each changed field, naming the one door. Never echoes a value. */
export function credentialChangeRefused(name: string, fields: string[]): FlotillaError {
  const causes: ErrorCause[] = fields.map((field) => ({
    reason: 'FieldValueForbidden',
    field: `spec.connection.${field}`,
    message: `Forbidden: credentials change only through ${credentialDoor(name)}, which checks the new credentials and that they reach the same cluster; leave the field out (or resend the stored value) to update the rest`,
  }));
  return ClusterErrors.invalid(name, causes);
}
