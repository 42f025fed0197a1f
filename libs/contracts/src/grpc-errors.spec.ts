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
});
