import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { CallerSlots } from './caller-slots';

describe('CallerSlots', () => {
  it('counts per caller, refuses past the limit with the given error, and releases each slot once', () => {
    const slots = new CallerSlots(2, (caller, open, max) => new Error(`${caller} has ${open} of ${max}`));
    const a1 = slots.acquire('alice');
    slots.acquire('alice');
    expect(() => slots.acquire('alice')).toThrow('alice has 2 of 2');
    expect(slots.count('bob')).toBe(0);
    slots.acquire('bob');
    a1();
    a1();
    expect(slots.count('alice')).toBe(1);
    expect(() => slots.acquire('alice')).not.toThrow();
    expect(() => slots.acquire('alice')).toThrow();
  });

  it('refuses with TooManyRequests in kube-apiserver\'s words, naming the caller, the limit and its setting, with a retry hint', () => {
    const slots = new CallerSlots(1, CallerSlots.tooManyRequests({ what: 'open streams', setting: 'FLOTILLA_MAX_STREAMS', fix: 'close one', retryAfterSeconds: 2 }));
    slots.acquire('alice');
    let refused: unknown;
    try {
      slots.acquire('alice');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(FlotillaError);
    expect(refused).toMatchObject({
      reason: ErrorReason.TooManyRequests,
      message: 'Too many requests, please try again later. Too many open streams: alice has 1, the most allowed (FLOTILLA_MAX_STREAMS=1); close one.',
      details: { retryAfterSeconds: 2 },
    });
    expect(slots.count('alice')).toBe(1);
  });
});
