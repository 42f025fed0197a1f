import { ErrorReason, FlotillaError } from '@flotilla/domain';
import type { StoredObject } from '@flotilla/clients';
import type { SyncContext } from './context';
import type { FederatedStatus } from './status';

type Json = Record<string, unknown>;

export const metaOf = (o: Json) => (o.metadata ?? {}) as { name?: string; namespace?: string; uid?: string; generation?: number; deletionTimestamp?: string; annotations?: Record<string, string> };
export const statusOf = (o: Json) => o.status as FederatedStatus | undefined;

/** Writes status on the latest stored object (resourceVersion precondition); on Conflict re-reads and retries while the generation is the same. */
export async function writeStatus(ctx: SyncContext, stored: StoredObject, status: FederatedStatus): Promise<void> {
  let current = stored;
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      await ctx.store.update(current.resource, { ...current.object, status }, current.namespace);
      return;
    } catch (error) {
      if (error instanceof FlotillaError && error.reason === ErrorReason.NotFound) return;
      if (!(error instanceof FlotillaError) || error.reason !== ErrorReason.Conflict) throw error;
      const fresh = await ctx.store.get(current.resource, current.name, current.namespace).catch(() => undefined);
      if (!fresh || metaOf(fresh.object).uid !== metaOf(stored.object).uid || metaOf(fresh.object).generation !== metaOf(stored.object).generation) return; // the change log brings the newer one
      current = fresh;
    }
  }
}
