import { ErrorReason, FlotillaError, httpCodeForReason } from './flotilla-error';

describe('FlotillaError', () => {
  it('TooManyRequests is 429 and says, in kube-apiserver\'s words, to come back after a whole number of seconds', () => {
    expect(httpCodeForReason[ErrorReason.TooManyRequests]).toBe(429);
    const e = FlotillaError.tooManyRequests('Too many open watches.', 0.2, { name: 'alice' });
    expect(e.reason).toBe(ErrorReason.TooManyRequests);
    expect(e.message).toBe('Too many requests, please try again later. Too many open watches.');
    expect(e.details).toEqual({ name: 'alice', retryAfterSeconds: 1 });
  });

  it('retryable: unavailable, timed out and too many requests; never a refusal of the input', () => {
    expect(FlotillaError.isRetryable(FlotillaError.tooManyRequests('x'))).toBe(true);
    expect(FlotillaError.isRetryable(new FlotillaError(ErrorReason.ServiceUnavailable, 'x'))).toBe(true);
    expect(FlotillaError.isRetryable(new FlotillaError(ErrorReason.Timeout, 'x'))).toBe(true);
    expect(FlotillaError.isRetryable(new FlotillaError(ErrorReason.RequestEntityTooLarge, 'x'))).toBe(false);
    expect(FlotillaError.isRetryable(new FlotillaError(ErrorReason.Invalid, 'x'))).toBe(false);
    expect(FlotillaError.isRetryable(new Error('x'))).toBe(false);
  });

  it('retryAfterMs: the error\'s own hint, else the fallback', () => {
    expect(FlotillaError.retryAfterMs(FlotillaError.tooManyRequests('x', 5), 100)).toBe(5000);
    expect(FlotillaError.retryAfterMs(new FlotillaError(ErrorReason.ServiceUnavailable, 'x'), 100)).toBe(100);
    expect(FlotillaError.retryAfterMs(new Error('x'), 250)).toBe(250);
  });
});
