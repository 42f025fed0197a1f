import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { FlotillaError } from '@flotilla/domain';
import { CallerSlots } from '@flotilla/service-kit';
import { principalOf } from '../auth/principal';
import { streamLimitsConfigShape } from '../imports/stream-limits-config';

/**
 * Refusal of one stream too many: TooManyRequests (429 with Retry-After at the HTTP edge) in
 * kube-apiserver's words, naming the limit.
 */
export class StreamLimitError extends FlotillaError {
  readonly caller: string;
  readonly limit: number;

  constructor(caller: string, limit: number) {
    const refusal = FlotillaError.tooManyRequests(
      `Too many open watches and streams for user "${caller}": the limit is ${limit} (FLOTILLA_MAX_WATCHES_PER_CALLER); close a watch or stream and try again.`,
      1,
      { causes: [{ reason: 'FieldValueInvalid', field: 'FLOTILLA_MAX_WATCHES_PER_CALLER', message: `at most ${limit} open streams per user` }] },
    );
    super(refusal.reason, refusal.message, refusal.details);
    this.caller = caller;
    this.limit = limit;
    this.name = 'StreamLimitError';
  }
}

/** What a streaming response needs: the caller's slot, when to end an idle stream, how much may wait unsent. */
export interface StreamBounds {
  /** Takes a slot; throws StreamLimitError past the limit. The returned function gives it back. */
  acquire(): () => void;
  idleMs: number;
  maxBufferedBytes: number;
  /** The user the stream is for (the registry counts its own watches per user too). */
  caller: string;
}

/**
 * Open streams per caller (issue 13): cluster watches, job watches and job event streams all
 * count against the same per-user limit on this gateway replica.
 */
export class StreamLimiter {
  private readonly slots: CallerSlots;
  readonly maxPerCaller: number;
  readonly idleMs: number;
  readonly maxBufferedBytes: number;

  constructor(config: object) {
    const limits = z.object(streamLimitsConfigShape).parse(config);
    this.maxPerCaller = limits.FLOTILLA_MAX_WATCHES_PER_CALLER;
    this.idleMs = limits.FLOTILLA_WATCH_IDLE_TIMEOUT_SECONDS * 1000;
    this.maxBufferedBytes = limits.FLOTILLA_WATCH_MAX_BUFFERED_BYTES;
    this.slots = new CallerSlots(this.maxPerCaller, (caller, _open, max) => new StreamLimitError(caller, max));
  }

  /** The bounds of one stream of the request's caller (the authenticated user). */
  boundsFor(req: IncomingMessage): StreamBounds {
    // Every stream route runs after authentication; a request without a principal shares one slot pool.
    const caller = principalOf(req)?.user ?? 'anonymous';
    return { caller, idleMs: this.idleMs, maxBufferedBytes: this.maxBufferedBytes, acquire: () => this.acquire(caller) };
  }

  acquire(caller: string): () => void {
    return this.slots.acquire(caller);
  }

  openFor(caller: string): number {
    return this.slots.count(caller);
  }
}

/**
 * One limiter per gateway (per configuration object), shared by every stream route, so the
 * per-user count spans cluster watches and job streams without another provider to wire.
 */
const limiters = new WeakMap<object, StreamLimiter>();
export function streamLimiterFor(config: object): StreamLimiter {
  let limiter = limiters.get(config);
  if (!limiter) limiters.set(config, (limiter = new StreamLimiter(config)));
  return limiter;
}
