import { status } from '@grpc/grpc-js';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { fromGrpcError, toGrpcError } from '@flotilla/contracts';
import { CallerStreams, watchCaller } from './watch-limits';

describe('CallerStreams: the refusal past FLOTILLA_MAX_WATCHES_PER_CALLER', () => {
  it('is TooManyRequests naming the caller and the limit, RESOURCE_EXHAUSTED on the wire, and back intact with its retry hint', () => {
    const streams = new CallerStreams(2);
    streams.acquire(watchCaller('gateway', 'alice'));
    streams.acquire(watchCaller('gateway', 'alice'));
    let refused: unknown;
    try {
      streams.acquire(watchCaller('gateway', 'alice'));
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(FlotillaError);
    expect(refused).toMatchObject({ reason: ErrorReason.TooManyRequests, details: { retryAfterSeconds: 1 } });
    expect((refused as Error).message).toBe(
      'Too many requests, please try again later. Too many open watches: gateway/alice has 2, the most allowed (FLOTILLA_MAX_WATCHES_PER_CALLER=2); close one, or raise the limit.',
    );

    const wire = toGrpcError(refused);
    expect(wire.code).toBe(status.RESOURCE_EXHAUSTED);
    const back = fromGrpcError({ code: wire.code, details: wire.message, metadata: wire.metadata }, 'registry');
    expect(back).toMatchObject({ reason: ErrorReason.TooManyRequests, message: (refused as Error).message, details: { retryAfterSeconds: 1 } });
    expect(FlotillaError.isRetryable(back)).toBe(true);
  });
});
