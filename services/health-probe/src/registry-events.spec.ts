import { type ClusterEvent, ErrorReason, FlotillaError } from '@flotilla/domain';
import { eventually } from '@flotilla/testing';
import { RegistryEventBuffer } from './registry-events';

const ev = (name: string) => ({ name }) as unknown as ClusterEvent;
const unavailable = () => new FlotillaError(ErrorReason.ServiceUnavailable, 'the registry service is unavailable; retry shortly');

describe('RegistryEventBuffer: Ready transitions reach the registry through its outages', () => {
  it('records at once when the registry answers; while it does not, keeps events in order and sends each once it answers again', async () => {
    const stored: string[] = [];
    let down = false;
    const buffer = new RegistryEventBuffer({
      capacity: 100,
      retryMinMs: 5,
      retryMaxMs: 20,
      send: async (e) => {
        if (down) throw unavailable();
        if (!stored.includes(e.name)) stored.push(e.name);
      },
    });
    await buffer.record(ev('a'));
    expect(stored).toEqual(['a']);
    down = true;
    await buffer.record(ev('b'));
    await buffer.record(ev('c'));
    expect(buffer.pending).toBe(2);
    down = false;
    await buffer.record(ev('d')); // older events wait: d goes after them
    await eventually(async () => expect(stored).toEqual(['a', 'b', 'c', 'd']));
    expect(buffer.pending).toBe(0);
  });

  it('drops an event the registry refuses (it would refuse it again), and the oldest when full; flush reports what is left', async () => {
    const dropped: string[] = [];
    const stored: string[] = [];
    let mode: 'down' | 'up' = 'down';
    const buffer = new RegistryEventBuffer({
      capacity: 3,
      retryMinMs: 5,
      retryMaxMs: 10,
      onDropped: (n, why) => dropped.push(`${why}:${n}`),
      send: async (e) => {
        if (mode === 'down') throw unavailable();
        if (e.name === 'bad') throw new FlotillaError(ErrorReason.Invalid, 'event.name: invalid');
        stored.push(e.name);
      },
    });
    for (const n of ['first', 'x', 'bad', 'y', 'z']) await buffer.record(ev(n));
    expect(dropped).toContain('full:1');
    mode = 'up';
    await eventually(async () => expect(buffer.pending).toBe(0));
    expect(stored).toEqual(['y', 'z']);
    expect(dropped).toEqual(['full:1', 'full:1', 'refused:1']);
    // With nothing waiting, a refusal goes straight back to the caller.
    await expect(buffer.record(ev('bad'))).rejects.toMatchObject({ reason: 'Invalid' });
    mode = 'down';
    await buffer.record(ev('late'));
    expect(await buffer.flush()).toBe(1);
  });

  it('adopts handed-off events (reported when stored, or returned with the dropped), says when the registry recovers, and at shutdown tries for a bounded time', async () => {
    const stored: string[] = [];
    const storedHandoffs: string[] = [];
    const dropped: string[] = [];
    let recoveries = 0;
    let idles = 0;
    let mode: 'down' | 'up' | 'hang' = 'down';
    const buffer = new RegistryEventBuffer({
      capacity: 3,
      retryMinMs: 5,
      retryMaxMs: 10,
      onDropped: (n, why, handoffs) => dropped.push(`${why}:${n}:${handoffs.join('+')}`),
      onStored: (raw) => storedHandoffs.push(raw),
      onRecovered: () => recoveries++,
      onIdle: () => idles++,
      send: async (e) => {
        if (mode === 'hang') return new Promise<void>(() => undefined);
        if (mode === 'down') throw unavailable();
        stored.push(e.name);
      },
    });
    await buffer.record(ev('own-1'));
    expect(buffer.unavailable).toBe(true);
    buffer.adopt(ev('h-1'), 'raw-1');
    buffer.adopt(ev('h-2'), 'raw-2');
    expect(buffer.room).toBe(0);
    await buffer.record(ev('own-2')); // full: the oldest (own-1) goes
    expect(dropped).toEqual(['full:1:']);
    buffer.adopt(ev('h-3'), 'raw-3'); // full: h-1 goes, returned as a handoff
    expect(dropped).toEqual(['full:1:', 'full:1:raw-1']);
    mode = 'up';
    await eventually(async () => expect(buffer.pending).toBe(0));
    expect(stored).toEqual(['h-2', 'own-2', 'h-3']);
    expect(storedHandoffs).toEqual(['raw-2', 'raw-3']);
    expect(recoveries).toBe(1);
    expect(idles).toBeGreaterThanOrEqual(1);

    // Shutdown with the registry hanging: bounded, and what is left is split into own and handed-off.
    mode = 'down';
    await buffer.record(ev('own-3'));
    buffer.adopt(ev('h-4'), 'raw-4');
    mode = 'hang';
    const started = Date.now();
    expect(await buffer.flush(100)).toBe(2);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(buffer.takeRemaining()).toEqual({ own: [ev('own-3')], handoffs: ['raw-4'] });
    expect(buffer.pending).toBe(0);
  });
});
