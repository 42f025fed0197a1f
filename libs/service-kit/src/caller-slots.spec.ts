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
});
