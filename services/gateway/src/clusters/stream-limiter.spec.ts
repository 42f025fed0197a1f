import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { toKubeStatus } from '@flotilla/service-kit';
import { StreamLimitError, StreamLimiter } from './stream-limiter';

describe('StreamLimiter: the refusal past FLOTILLA_MAX_WATCHES_PER_CALLER', () => {
  it('is a TooManyRequests StreamLimitError (429, kube-apiserver\'s words, retry hint) naming the user and the limit', () => {
    const limiter = new StreamLimiter({ FLOTILLA_MAX_WATCHES_PER_CALLER: '1' });
    const release = limiter.acquire('alice');
    let refused: unknown;
    try {
      limiter.acquire('alice');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(StreamLimitError);
    expect(refused).toBeInstanceOf(FlotillaError);
    expect(refused).toMatchObject({ reason: ErrorReason.TooManyRequests, caller: 'alice', limit: 1, details: { retryAfterSeconds: 1 } });
    expect(FlotillaError.isRetryable(refused)).toBe(true);
    const status = toKubeStatus(refused);
    expect(status).toMatchObject({ reason: 'TooManyRequests', code: 429, details: { retryAfterSeconds: 1 } });
    expect(status.message).toBe(
      'Too many requests, please try again later. Too many open watches and streams for user "alice": the limit is 1 (FLOTILLA_MAX_WATCHES_PER_CALLER); close a watch or stream and try again.',
    );
    release();
    expect(() => limiter.acquire('alice')).not.toThrow();
  });
});
