import { ConcurrencyLimit } from './concurrency-limit';

describe('ConcurrencyLimit', () => {
  it('runs at most `limit` calls at once, in arrival order, and passes results and errors through', async () => {
    const limit = new ConcurrencyLimit(2);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const releases: (() => void)[] = [];
    const calls = Array.from({ length: 5 }, (_, i) =>
      limit.run(async () => {
        started.push(i);
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((r) => releases.push(r));
        running--;
        if (i === 3) throw new Error('call 3 failed');
        return i;
      }),
    );
    const settled = Promise.allSettled(calls);
    for (let n = 0; n < 5; n++) {
      await new Promise((r) => setImmediate(r));
      expect(limit.queued).toBe(Math.max(0, 5 - n - 2));
      releases.shift()!();
    }
    const results = await settled;
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([0, 1, 2, 'call 3 failed', 4]);
    // The limit is free again afterwards.
    expect(await limit.run(async () => 'again')).toBe('again');
  });

  it('runs calls marked first ahead of the others waiting, each kind in its order', async () => {
    const limit = new ConcurrencyLimit(1);
    const started: string[] = [];
    let release!: () => void;
    const blocker = limit.run(() => new Promise<void>((r) => (release = r)));
    const calls = [
      limit.run(async () => void started.push('write 1')),
      limit.run(async () => void started.push('write 2')),
      limit.run(async () => void started.push('batch 1'), { first: true }),
      limit.run(async () => void started.push('write 3')),
      limit.run(async () => void started.push('batch 2'), { first: true }),
    ];
    expect(limit.queued).toBe(5);
    release();
    await blocker;
    await Promise.all(calls);
    expect(started).toEqual(['batch 1', 'batch 2', 'write 1', 'write 2', 'write 3']);
    expect(limit.queued).toBe(0);
  });

  it('refuses a limit below 1', () => {
    expect(() => new ConcurrencyLimit(0)).toThrow(RangeError);
  });
});
