import { z } from 'zod';
import { configParts, memberAddressConfigShape } from '@flotilla/config';
import { workerConfigShape } from '@flotilla/service-kit';

const int = (def: number, min: number, max: number) => z.coerce.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`).default(def);

/** federation-sync configuration; every variable is described in docs/federation.md and ADR 0035. */
export function federationSyncConfigShape(ports: { http: number; grpc: number }) {
  return {
    ...workerConfigShape(ports),
    FLOTILLA_INTERNAL_TOKEN: configParts.internalToken,
    /** The member address policy the import and health-probe apply too (docs/security.md). */
    ...memberAddressConfigShape,
    /** Requests in flight per member, per replica. */
    FLOTILLA_FEDERATION_MEMBER_CONCURRENCY: int(8, 1, 1000),
    /** Requests per second per member, per replica. */
    FLOTILLA_FEDERATION_MEMBER_QPS: int(50, 1, 100_000),
    /** Every owned federated object is compared with its members this often (drift the watch missed, workload status). */
    FLOTILLA_FEDERATION_RESYNC_SECONDS: int(300, 1, 86_400),
    /** A member unreachable this long while its object is deleted is reported as an orphan and the deletion completes. */
    FLOTILLA_FEDERATION_ORPHAN_AFTER_SECONDS: int(30, 1, 86_400),
    /** One member request's deadline. */
    FLOTILLA_FEDERATION_REQUEST_TIMEOUT_MS: int(10_000, 100, 300_000),
    /** Federated objects reconciled at once by this replica (member requests are bounded per member besides). */
    FLOTILLA_FEDERATION_RECONCILE_CONCURRENCY: int(64, 1, 10_000),
    /** The longest wait between retries of one object on one member (backoff from 500 ms, jittered). */
    FLOTILLA_FEDERATION_MAX_BACKOFF_MS: int(60_000, 100, 3_600_000),
    /** How often the change log is read when the registry offers no change stream (WatchObjectChanges pushes changes otherwise; ADR 0036). */
    FLOTILLA_FEDERATION_POLL_MS: int(250, 10, 60_000),
    /** A replica not heard from for this long is dead; its objects move to the others. */
    FLOTILLA_FEDERATION_LEASE_TTL_MS: int(8_000, 300, 600_000),
    FLOTILLA_FEDERATION_LEASE_HEARTBEAT_MS: int(2_000, 100, 60_000),
    /** This replica's id in the membership set; defaults to a random UUID per process. */
    FLOTILLA_FEDERATION_REPLICA_ID: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be 1-128 letters, digits, dots, dashes or underscores').optional(),
  };
}

export type FederationSyncConfig = z.infer<z.ZodObject<ReturnType<typeof federationSyncConfigShape>>>;
