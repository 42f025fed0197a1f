import { HttpException } from '@nestjs/common';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { toKubeStatus } from './status';

describe('toKubeStatus', () => {
  it('answers TooManyRequests with 429, kube-apiserver\'s words and the retry hint', () => {
    const status = toKubeStatus(FlotillaError.tooManyRequests('Too many open watches: alice has 3 (FLOTILLA_MAX_WATCHES_PER_CALLER=3).', 2));
    expect(status).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'TooManyRequests', code: 429, details: { retryAfterSeconds: 2 } });
    expect(status.message).toBe('Too many requests, please try again later. Too many open watches: alice has 3 (FLOTILLA_MAX_WATCHES_PER_CALLER=3).');
  });

  it('gives every 429 a retry hint, also when the error named none or came as an HttpException', () => {
    expect(toKubeStatus(new FlotillaError(ErrorReason.TooManyRequests, 'slow down')).details).toEqual({ retryAfterSeconds: 1 });
    const fromHttp = toKubeStatus(new HttpException('ThrottlerException: Too Many Requests', 429));
    expect(fromHttp).toMatchObject({ reason: 'TooManyRequests', code: 429, details: { retryAfterSeconds: 1 } });
    expect(fromHttp.message).toBe('Too many requests, please try again later. ThrottlerException: Too Many Requests');
  });

  it('keeps RequestEntityTooLarge at 413 without a retry hint', () => {
    const status = toKubeStatus(new FlotillaError(ErrorReason.RequestEntityTooLarge, 'the request body is larger than 3145728 bytes'));
    expect(status).toMatchObject({ reason: 'RequestEntityTooLarge', code: 413 });
    expect(status.details).toBeUndefined();
    expect(toKubeStatus(new HttpException('too large', 413)).reason).toBe('RequestEntityTooLarge');
  });
});
