import { z } from 'zod';
import { configParts, importPolicyConfigShape } from '@flotilla/config';
import { workerConfigShape } from '@flotilla/service-kit';
import { accessSyncConfigShape } from './access-sync/access-sync-config';
import { credentialRenewalConfigShape } from './credentials/renewal-config';

/** Configuration of provider-import (documented in docs/import.md). */
export const providerImportConfigShape = {
  ...workerConfigShape({ http: 8082, grpc: 50052 }),
  /** provider-import reads credentials from the registry, so it needs the internal token. */
  FLOTILLA_INTERNAL_TOKEN: configParts.internalToken,
  ...importPolicyConfigShape,
  ...credentialRenewalConfigShape,
  ...accessSyncConfigShape,
  /** A cluster pending in import or removal longer than this is re-queued or given its job's recorded outcome (the reconciler). */
  FLOTILLA_STUCK_IMPORT_SECONDS: z.coerce.number().int().min(30).max(86_400).default(300),
  /** How long removal waits for an unreachable member before finishing host-side and reporting orphans. */
  REMOVAL_UNREACHABLE_BOUND_MS: z.coerce.number().int().min(0).max(3_600_000, 'must be at most 3600000 (one hour)').default(30_000),
};

export type ProviderImportConfig = z.infer<z.ZodObject<typeof providerImportConfigShape>>;
