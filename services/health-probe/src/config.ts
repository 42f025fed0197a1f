import { z } from 'zod';
import { configParts, memberAddressConfigShape } from '@flotilla/config';
import { workerConfigShape } from '@flotilla/service-kit';

const ms = (def: number, min: number, max: number) => z.coerce.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`).default(def);

/** health-probe configuration; every variable is described in docs/health.md. */
export function healthProbeConfigShape(ports: { http: number; grpc: number }) {
  return {
    ...workerConfigShape(ports),
    FLOTILLA_INTERNAL_TOKEN: configParts.internalToken,
    /** The member address policy the import applies too (docs/security.md). */
    ...memberAddressConfigShape,
    PROBE_INTERVAL_MS: ms(10_000, 200, 3_600_000),
    PROBE_TIMEOUT_MS: ms(5_000, 50, 60_000),
    PROBE_FAILURE_THRESHOLD: ms(3, 1, 100),
    PROBE_SUCCESS_THRESHOLD: ms(1, 1, 100),
    /** Probes in flight for clusters whose last probe succeeded (the main lane). */
    PROBE_CONCURRENCY: ms(200, 1, 10_000),
    /** Probes in flight for clusters whose last probe failed, and main-lane probes slower than PROBE_SLOW_AFTER_MS. */
    PROBE_SUSPECT_CONCURRENCY: ms(1000, 1, 10_000),
    PROBE_SLOW_AFTER_MS: ms(1000, 50, 60_000),
    PROBE_RETRY_BACKOFF_MS: ms(500, 50, 600_000),
    /**
     * Registry calls in flight at once (credentials, status writes, events): the registry and its
     * database pool serve everyone, so a replica starting with 10,000 clusters queues here instead.
     */
    PROBE_REGISTRY_CONCURRENCY: ms(16, 1, 1000),
    /** A replica not heard from for this long is dead; its clusters move to the others. */
    PROBE_LEASE_TTL_MS: ms(8_000, 300, 600_000),
    PROBE_LEASE_HEARTBEAT_MS: ms(2_000, 100, 60_000),
    /**
     * How often the last probe times are sent to the registry, batched (RecordProbeTimes); the
     * registry keeps them in a Redis hash and shows them as status.lastProbeTime (ADR 0021).
     */
    PROBE_LAST_SEEN_FLUSH_MS: ms(1_000, 100, 60_000),
    /** This replica's id in the membership set; defaults to a random UUID per process. */
    PROBE_REPLICA_ID: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'must be 1-128 letters, digits, dots, dashes or underscores').optional(),
    /** Stream entries kept for automation (XADD MAXLEN ~). */
    PROBE_EVENT_STREAM_MAXLEN: ms(10_000, 100, 10_000_000),
    /**
     * While Redis does not answer, a replica keeps probing the share it last held for this long
     * (ADR 0033), then fences itself until a heartbeat succeeds.
     */
    PROBE_REDIS_GRACE_MS: ms(300_000, 1_000, 86_400_000),
    /** Health events kept in memory while the Redis stream cannot be written; past it the oldest are dropped (counted). */
    PROBE_EVENT_BUFFER_MAX: ms(50_000, 100, 1_000_000),
  };
}

export type HealthProbeConfig = z.infer<z.ZodObject<ReturnType<typeof healthProbeConfigShape>>>;
