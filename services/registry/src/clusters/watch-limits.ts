import { z } from 'zod';
import { CallerSlots, InternalIdentity } from '@flotilla/service-kit';

/**
 * Bounds of WatchClusters streams (issue 13, "Unbounded streams"). Spread into the registry's
 * configuration shape; parsed on their own (defaults) until then, so the bounds always hold.
 */
export const watchLimitsConfigShape = {
  /** Open WatchClusters streams per caller (internal identity, and the user the gateway acts for). */
  FLOTILLA_MAX_WATCHES_PER_CALLER: z.coerce.number().int().min(1).max(100_000).default(100),
  /** A stream with no event and no bookmark for this long ends; the caller watches again from its last version. */
  FLOTILLA_WATCH_IDLE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(24 * 3600).default(1800),
  /** Events a stream may hold unsent for a caller that does not read; past it, the stream ends with an error. */
  FLOTILLA_WATCH_MAX_BUFFERED: z.coerce.number().int().min(10).max(1_000_000).default(2000),
};

export interface WatchLimits {
  maxPerCaller: number;
  idleMs: number;
  maxBuffered: number;
}

export const WATCH_LIMITS = Symbol('registry.watch-limits');

/** The bounds from the registry configuration (keys it does not carry take their defaults). */
export function watchLimitsFrom(config: object): WatchLimits {
  const parsed = z.object(watchLimitsConfigShape).parse(config);
  return {
    maxPerCaller: parsed.FLOTILLA_MAX_WATCHES_PER_CALLER,
    idleMs: parsed.FLOTILLA_WATCH_IDLE_TIMEOUT_SECONDS * 1000,
    maxBuffered: parsed.FLOTILLA_WATCH_MAX_BUFFERED,
  };
}

/** The identity whose user may be named by on_behalf_of: it enforces per-user limits itself first. */
const TRUSTED_FOR_USERS: string = InternalIdentity.Gateway;

/** Who a watch is counted against: the internal identity, and the end user when the gateway names one. */
export function watchCaller(identity: string | undefined, onBehalfOf: string | undefined): string {
  const id = identity ?? 'unauthenticated';
  return id === TRUSTED_FOR_USERS && onBehalfOf ? `${id}/${onBehalfOf}` : id;
}

/**
 * Counts open streams per caller; acquire() refuses past the limit with TooManyRequests (gRPC
 * RESOURCE_EXHAUSTED, the reason in the error trailer) naming the limit, with a retry hint:
 * retryable like ServiceUnavailable (FlotillaError.isRetryable).
 */
export class CallerStreams extends CallerSlots {
  constructor(max: number) {
    super(max, CallerSlots.tooManyRequests({ what: 'open watches', setting: 'FLOTILLA_MAX_WATCHES_PER_CALLER', fix: 'close one, or raise the limit' }));
  }
}
