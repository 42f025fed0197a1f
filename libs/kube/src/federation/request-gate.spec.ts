import { GateRefusedError, RequestGate } from './request-gate';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('RequestGate', () => {
  it('keeps at most `concurrency` running, in FIFO order', async () => {
    const gate = new RequestGate({ concurrency: 2, qps: 1000, maxQueued: 100 });
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const jobs = Array.from({ length: 8 }, (_, i) =>
      gate.run(async () => {
        order.push(i);
        running += 1;
        peak = Math.max(peak, running);
        await tick(20);
        running -= 1;
        return i;
      }),
    );
    expect(gate.depth()).toBe(8);
    expect(await Promise.all(jobs)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(peak).toBe(2);
    expect(gate.depth()).toBe(0);
  });

  it('starts at most `qps` in any one-second window', async () => {
    const gate = new RequestGate({ concurrency: 100, qps: 5, maxQueued: 100 });
    const starts: number[] = [];
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 12 }, () => gate.run(async () => void starts.push(Date.now()))));
    for (let i = 5; i < starts.length; i++) expect(starts[i]! - starts[i - 5]!).toBeGreaterThanOrEqual(999);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1990);
  });

  it('spaces requests below one per second (qps 0.5: one per two seconds, fake clock)', () => {
    let now = 0;
    jest.useFakeTimers();
    try {
      const gate = new RequestGate({ concurrency: 5, qps: 0.5, maxQueued: 10, now: () => now });
      const started: number[] = [];
      for (let i = 0; i < 3; i++) void gate.run(async () => void started.push(now));
      expect(started).toEqual([0]);
      now = 1999;
      jest.advanceTimersByTime(1999);
      expect(started).toEqual([0]);
      now = 2000;
      jest.advanceTimersByTime(1);
      expect(started).toEqual([0, 2000]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('refuses past maxQueued and after close, and a failing job does not stop the queue', async () => {
    const gate = new RequestGate({ concurrency: 1, qps: 1000, maxQueued: 2 });
    let release!: () => void;
    const first = gate.run(() => new Promise<void>((r) => (release = r)));
    const second = gate.run(async () => {
      throw new Error('boom');
    });
    const third = gate.run(async () => 'ok');
    await expect(gate.run(async () => 'late')).rejects.toMatchObject({ why: 'full' });
    release();
    await first;
    await expect(second).rejects.toThrow('boom');
    await expect(third).resolves.toBe('ok');
    let hold!: () => void;
    const running = gate.run(() => new Promise<string>((r) => (hold = () => r('done'))));
    const waiting = gate.run(async () => 'never');
    gate.close();
    await expect(waiting).rejects.toBeInstanceOf(GateRefusedError);
    await expect(gate.run(async () => 1)).rejects.toMatchObject({ why: 'closed' });
    hold();
    await expect(running).resolves.toBe('done');
  });

  it('rejects nonsense limits', () => {
    expect(() => new RequestGate({ concurrency: 0, qps: 1, maxQueued: 1 })).toThrow(/concurrency/);
    expect(() => new RequestGate({ concurrency: 1, qps: 0, maxQueued: 1 })).toThrow(/qps/);
  });
});
