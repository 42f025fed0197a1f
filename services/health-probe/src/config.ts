import { z } from 'zod';
import { ConfigError, configParts, memberAddressConfigShape } from '@flotilla/config';
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
    /**
     * TLS handshakes in progress at once across the replica (new connections to members); the rest
     * wait for a permit before their probe timeout starts. It keeps a cold start or a takeover from
     * saturating the event loop with thousands of handshakes that then all time out (ADR 0039).
     */
    PROBE_HANDSHAKE_CONCURRENCY: ms(32, 1, 10_000),
    /**
     * Worker threads that hold the probers and run the probes (ADR 0040); 0: probes run on the main
     * event loop. A cold start or takeover costs a few milliseconds of CPU a cluster (TLS contexts
     * and handshakes), so one loop probes 10,000 new clusters in about 50 s at best: give a replica
     * with spare cores a worker per core it can use (the main loop needs little).
     */
    PROBE_WORKERS: ms(0, 0, 64),
    PROBE_RETRY_BACKOFF_MS: ms(500, 50, 600_000),
    /**
     * The inventory (version, nodes, kube-system UID) is read at most this often from a member that
     * stays ready on one connection; the probes between ask only its readiness (ADR 0038). 0: every probe reads everything.
     */
    PROBE_INVENTORY_INTERVAL_MS: ms(60_000, 0, 3_600_000),
    /**
     * Registry calls in flight at once (credential batches, status writes, events): the registry and
     * its database pool serve everyone, so a replica starting with 10,000 clusters queues here
     * instead. Credential batches wait ahead of the writes, so probes never wait behind them.
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
    /**
     * At shutdown, how long the last attempt to store the buffered Ready transitions in the
     * registry may take (ADR 0037); what it does not store is handed off through Redis.
     */
    PROBE_SHUTDOWN_REGISTRY_MS: ms(2_000, 0, 60_000),
    /**
     * At shutdown, how long the replica tries Redis: handing off the transitions the registry did
     * not store, and publishing the stream's last entries. Past it, what is left is counted as lost.
     */
    PROBE_SHUTDOWN_REDIS_MS: ms(3_000, 100, 60_000),
    /**
     * How often a replica looks for transitions handed off by stopped replicas (and for a dead
     * drainer's) besides its own triggers: its start, and its registry calls succeeding again.
     */
    PROBE_HANDOFF_CHECK_MS: ms(30_000, 1_000, 600_000),
  };
}

export type HealthProbeConfig = z.infer<z.ZodObject<ReturnType<typeof healthProbeConfigShape>>>;

/**
 * Rules across variables: the shutdown's registry and Redis attempts run one after the other and
 * must leave the other shutdown steps (in-flight probes, probe times) half of SHUTDOWN_TIMEOUT_MS,
 * or the process is stopped before the handoff ends and the transitions are lost.
 */
export function checkHealthProbeConfig(config: HealthProbeConfig): void {
  const needed = config.PROBE_SHUTDOWN_REGISTRY_MS + config.PROBE_SHUTDOWN_REDIS_MS;
  if (needed > config.SHUTDOWN_TIMEOUT_MS / 2) {
    throw new ConfigError('health-probe', [
      {
        variable: 'PROBE_SHUTDOWN_REDIS_MS',
        problem: `PROBE_SHUTDOWN_REGISTRY_MS + PROBE_SHUTDOWN_REDIS_MS (${needed} ms) must be at most half of SHUTDOWN_TIMEOUT_MS (${config.SHUTDOWN_TIMEOUT_MS} ms): lower them or raise SHUTDOWN_TIMEOUT_MS`,
      },
    ]);
  }
}
