import { z } from 'zod';

/**
 * Bounds of the gateway's long-lived streams: cluster watches, import-job watches and their
 * server-sent-event form (issue 13, "Unbounded streams"). Part of the gateway configuration
 * (spread into importEdgeConfigShape).
 */
export const streamLimitsConfigShape = {
  /** Open streams per caller (the authenticated user); one more is refused with 429 naming this variable. */
  FLOTILLA_MAX_WATCHES_PER_CALLER: z.coerce.number().int().min(1).max(100_000).default(100),
  /** A stream with no event and no bookmark for this long ends; clients watch again (from their last resourceVersion). */
  FLOTILLA_WATCH_IDLE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(24 * 3600).default(1800),
  /**
   * Bytes a stream may hold for a client that does not read. Past it the stream ends with an
   * ERROR event carrying a Status (and the connection is closed if even that cannot be sent).
   * Large enough for a first listing of a big fleet to a client that reads.
   */
  FLOTILLA_WATCH_MAX_BUFFERED_BYTES: z.coerce.number().int().min(64 * 1024).max(1024 * 1024 * 1024).default(16 * 1024 * 1024),
};

export type StreamLimitsConfig = z.infer<z.ZodObject<typeof streamLimitsConfigShape>>;
