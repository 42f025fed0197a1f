import { z } from 'zod';

const bool = z.enum(['true', 'false'], { error: 'must be true or false' });

/** provider-import's settings for keeping members' impersonation in sync (ADR 0030). */
export const accessSyncConfigShape = {
  /** Off: no member is touched (the proxy's impersonation then works only where it was set up before). */
  FLOTILLA_ACCESS_SYNC_ENABLED: bool.default('true').transform((v) => v === 'true'),
  /** Every cluster is checked again this often (a read; a write only where the member drifted); 0 turns it off. */
  FLOTILLA_ACCESS_SYNC_RESYNC_SECONDS: z.coerce.number().int().min(0).max(86_400, 'must be at most 86400 (one day)').default(600),
  /** Members updated at once. */
  FLOTILLA_ACCESS_SYNC_CONCURRENCY: z.coerce.number().int().min(1, 'must be at least 1').max(256, 'must be at most 256').default(8),
  /** How often the registry's change log of IAM objects is read. */
  FLOTILLA_ACCESS_SYNC_POLL_MS: z.coerce.number().int().min(100, 'must be at least 100').max(60_000, 'must be at most 60000').default(1_000),
};

export type AccessSyncConfig = z.infer<z.ZodObject<typeof accessSyncConfigShape>>;
