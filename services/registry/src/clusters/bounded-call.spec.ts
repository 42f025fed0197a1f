import { EventEmitter } from 'node:events';
import { Observable, Subject, lastValueFrom } from 'rxjs';
import { ErrorReason } from '@flotilla/domain';
import { eventually } from '@flotilla/testing';
import { writeBounded } from './bounded-call';
import { CallerStreams, watchCaller } from './watch-limits';

/** A gRPC server stream whose client reads only when told to (write() says false while it does not). */
class SlowCall extends EventEmitter {
  readonly sent: number[] = [];
  reading = false;
  write(message: number): boolean {
    this.sent.push(message);
    return this.reading;
  }
  read(): void {
    this.reading = true;
    this.emit('drain');
  }
}

describe('writeBounded: backpressure with a bound on a gRPC stream', () => {
  it('ends the stream with an error, and gives the slot back, when a client that does not read lets the bound fill', async () => {
    const call = new SlowCall();
    const source = new Subject<number>();
    let ended = 0;
    const done = lastValueFrom(writeBounded(call, () => source, { maxBuffered: 10, idleMs: 60_000, onEnd: () => ended++ }), { defaultValue: undefined });
    for (let i = 0; i < 50; i++) source.next(i);
    await expect(done).rejects.toMatchObject({ reason: ErrorReason.ServiceUnavailable, message: expect.stringMatching(/did not read.*FLOTILLA_WATCH_MAX_BUFFERED/) });
    // One write reached the call, the bound waited, nothing more was kept.
    expect(call.sent).toEqual([0]);
    expect(source.observed).toBe(false);
    expect(ended).toBe(1);
  });

  it('a paging source waits for room (ready) and everything arrives in order once the client reads', async () => {
    const call = new SlowCall();
    let pagesStarted = 0;
    const source = (ready: () => Promise<void>) =>
      new Observable<number>((out) => {
        void (async () => {
          for (let page = 0; page < 5; page++) {
            await ready();
            pagesStarted++;
            for (let i = 0; i < 4; i++) out.next(page * 4 + i);
          }
          out.complete();
        })();
      });
    const done = lastValueFrom(writeBounded(call, source, { maxBuffered: 8, idleMs: 60_000, onEnd: () => undefined }), { defaultValue: undefined });
    await eventually(() => expect(pagesStarted).toBe(1));
    // The client does not read: the source is held at the first pages, far below the bound.
    expect(pagesStarted).toBeLessThanOrEqual(2);
    call.read();
    await done;
    expect(call.sent).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('ends a stream with no event for the idle time; the caller watches again', async () => {
    const call = new SlowCall();
    call.reading = true;
    let ended = 0;
    await lastValueFrom(writeBounded(call, () => new Subject<number>(), { maxBuffered: 8, idleMs: 50, onEnd: () => ended++ }), { defaultValue: undefined });
    expect(ended).toBe(1);
  });
});

describe('CallerStreams: per-caller watch slots', () => {
  it('refuses one more than the limit naming it, frees a slot once however often released, and counts the gateway per user', () => {
    const streams = new CallerStreams(2);
    const a = streams.acquire(watchCaller('gateway', 'alice'));
    streams.acquire(watchCaller('gateway', 'alice'));
    expect(() => streams.acquire(watchCaller('gateway', 'alice'))).toThrow(/FLOTILLA_MAX_WATCHES_PER_CALLER=2/);
    expect(() => streams.acquire(watchCaller('gateway', 'bob'))).not.toThrow();
    a();
    a();
    expect(streams.count('gateway/alice')).toBe(1);
    // Only the gateway may name a user: another identity is counted as itself.
    expect(watchCaller('health-probe', 'alice')).toBe('health-probe');
  });
});
