import { HandshakeGate } from './handshake-gate';

describe('HandshakeGate', () => {
  it('holds at most its limit of permits and hands them on in order', async () => {
    const gate = new HandshakeGate(2);
    const a = await gate.acquire();
    const b = await gate.acquire();
    const order: string[] = [];
    const c = gate.acquire().then((r) => (order.push('c'), r));
    const d = gate.acquire().then((r) => (order.push('d'), r));
    await Promise.resolve();
    expect(gate.inProgress).toBe(2);
    expect(gate.queued).toBe(2);
    expect(order).toEqual([]);
    a();
    a(); // a second release is harmless: it frees nothing more
    const rc = await c;
    expect(order).toEqual(['c']);
    expect(gate.inProgress).toBe(2);
    expect(gate.queued).toBe(1);
    b();
    const rd = await d;
    expect(order).toEqual(['c', 'd']);
    rc();
    rd();
    expect(gate.inProgress).toBe(0);
    expect(gate.queued).toBe(0);
  });

  it('takes a permit back after maxHoldMs: a handshake that never ends does not starve the rest', async () => {
    jest.useFakeTimers();
    try {
      const gate = new HandshakeGate(1, 1000);
      await gate.acquire(); // never released by its holder
      let granted = false;
      const next = gate.acquire().then((r) => ((granted = true), r));
      await jest.advanceTimersByTimeAsync(999);
      expect(granted).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      (await next)();
      expect(granted).toBe(true);
      expect(gate.inProgress).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('forgets a waiter whose signal aborts; it takes no permit', async () => {
    const gate = new HandshakeGate(1);
    const held = await gate.acquire();
    const closing = new AbortController();
    const gone = gate.acquire(closing.signal);
    const after = gate.acquire();
    closing.abort(new Error('prober closed'));
    await expect(gone).rejects.toThrow('prober closed');
    expect(gate.queued).toBe(1);
    held();
    (await after)();
    expect(gate.inProgress).toBe(0);
    await expect(gate.acquire(closing.signal)).rejects.toThrow('prober closed');
  });

  it('refuses a limit that is not a whole number of at least 1', () => {
    expect(() => new HandshakeGate(0)).toThrow(RangeError);
    expect(() => new HandshakeGate(1.5)).toThrow(RangeError);
  });
});
