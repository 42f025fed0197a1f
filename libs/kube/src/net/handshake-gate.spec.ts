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

  it('holds a permit at most four times the typical handshake, and no less than minHoldMs: hanging members do not starve the rest', async () => {
    jest.useFakeTimers();
    try {
      const gate = new HandshakeGate(1, 1000, 100);
      expect(gate.holdLimitMs).toBe(1000); // nothing measured yet
      // Handshakes that come up in 10 ms each (a member nearby, a replica with CPU to spare).
      for (let i = 0; i < 40; i++) {
        const release = await gate.acquire();
        await jest.advanceTimersByTimeAsync(10);
        release('connected');
      }
      expect(gate.holdLimitMs).toBe(100);
      await gate.acquire(); // a member that accepts TCP and never answers TLS
      let granted = false;
      const next = gate.acquire().then((r) => ((granted = true), r));
      await jest.advanceTimersByTimeAsync(99);
      expect(granted).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      (await next)();
      expect(granted).toBe(true);
      // Slow handshakes (an overloaded replica, members far away) raise the limit again, up to maxHoldMs.
      for (let i = 0; i < 40; i++) {
        const release = await gate.acquire();
        await jest.advanceTimersByTimeAsync(400);
        release('connected');
      }
      expect(gate.holdLimitMs).toBe(1000);
      // A release without 'connected' (a failure, the first answer) times nothing.
      const failed = await gate.acquire();
      await jest.advanceTimersByTimeAsync(1);
      failed();
      expect(gate.holdLimitMs).toBe(1000);
      // With no handshake completing (connections kept), the slow figure fades: 20 s later the limit
      // is back near its floor, and a member hanging in TLS holds a permit briefly again.
      await jest.advanceTimersByTimeAsync(20_000);
      expect(gate.holdLimitMs).toBeLessThan(150);
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
