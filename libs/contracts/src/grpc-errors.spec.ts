import { status } from '@grpc/grpc-js';
import { ClusterErrors, ErrorReason, FlotillaError } from '@flotilla/domain';
import { fromGrpcError, toGrpcError } from './grpc-errors';

describe('gRPC error mapping', () => {
  it('carries a domain error across the wire intact, causes included', () => {
    const original = ClusterErrors.invalid('m1', [{ reason: 'FieldValueRequired', field: 'spec.connection', message: 'Required value' }]);
    const wire = toGrpcError(original);
    expect(wire.code).toBe(status.INVALID_ARGUMENT);
    const back = fromGrpcError({ code: wire.code, details: wire.message, metadata: wire.metadata }, 'registry');
    expect(back.reason).toBe(ErrorReason.Invalid);
    expect(back.message).toBe(original.message);
    expect(back.details.causes).toEqual(original.details.causes);
  });

  it('hides unexpected errors behind INTERNAL', () => {
    const wire = toGrpcError(new Error('connection string postgres://u:pw@h failed'));
    expect(wire.code).toBe(status.INTERNAL);
    expect(wire.message).toBe('internal error');
  });

  it('maps transport failures to ServiceUnavailable with a retry hint', () => {
    const e = fromGrpcError({ code: status.UNAVAILABLE, details: 'No connection established' }, 'registry');
    expect(e).toBeInstanceOf(FlotillaError);
    expect(e.reason).toBe(ErrorReason.ServiceUnavailable);
    expect(e.message).toBe('the registry service is unavailable; retry shortly');
    expect(e.details.retryAfterSeconds).toBe(1);
  });

  it('sends TooManyRequests as RESOURCE_EXHAUSTED and reads it back as TooManyRequests with its retry hint', () => {
    const wire = toGrpcError(FlotillaError.tooManyRequests('Too many open watches: gateway/alice has 2.', 3));
    expect(wire.code).toBe(status.RESOURCE_EXHAUSTED);
    const back = fromGrpcError({ code: wire.code, details: wire.message, metadata: wire.metadata }, 'registry');
    expect(back.reason).toBe(ErrorReason.TooManyRequests);
    expect(back.message).toBe('Too many requests, please try again later. Too many open watches: gateway/alice has 2.');
    expect(back.details.retryAfterSeconds).toBe(3);
    expect(FlotillaError.isRetryable(back)).toBe(true);
  });

  it('keeps RequestEntityTooLarge on the same code: through the trailer, and for grpc-js\'s own size refusal without one', () => {
    const wire = toGrpcError(new FlotillaError(ErrorReason.RequestEntityTooLarge, 'the object is larger than 1 MiB'));
    expect(wire.code).toBe(status.RESOURCE_EXHAUSTED);
    const back = fromGrpcError({ code: wire.code, details: wire.message, metadata: wire.metadata }, 'registry');
    expect(back.reason).toBe(ErrorReason.RequestEntityTooLarge);
    expect(back.message).toBe('the object is larger than 1 MiB');
    const bare = fromGrpcError({ code: status.RESOURCE_EXHAUSTED, details: 'Received message larger than max (5000000 vs 4194304)' }, 'registry');
    expect(bare.reason).toBe(ErrorReason.RequestEntityTooLarge);
    expect(bare.message).toMatch(/larger than max/);
    expect(FlotillaError.isRetryable(bare)).toBe(false);
  });
});
