import { Observable, Subscription } from 'rxjs';
import { ErrorReason, FlotillaError } from '@flotilla/domain';

/** The part of a gRPC server stream (grpc-js ServerWritableStream) this writer uses. */
export interface WritableCall<T> {
  write(message: T): boolean;
  on(event: 'drain', listener: () => void): unknown;
  off(event: 'drain', listener: () => void): unknown;
}

export interface BoundedCallOptions {
  /** Events that may wait unsent; one more ends the stream with an error. */
  maxBuffered: number;
  /** No event (bookmarks count) for this long ends the stream; the caller watches again. */
  idleMs: number;
  /** Called once when the stream ends, however it ends (gives the caller's slot back). */
  onEnd: () => void;
}

/**
 * Writes a stream to a gRPC call with backpressure that has a bound. NestJS's own writer queues
 * without limit while the client does not read; this one writes to the call itself, stops the
 * source at the bound (`ready` lets a paging source wait for room), and returns an empty
 * Observable for NestJS that completes, or fails with the reason, once the call is done.
 */
export function writeBounded<T>(call: WritableCall<T>, source: (ready: () => Promise<void>) => Observable<T>, options: BoundedCallOptions): Observable<never> {
  return new Observable<never>((out) => {
    const queue: T[] = [];
    let writable = true;
    let ended = false;
    let waiters: (() => void)[] = [];
    let idle: NodeJS.Timeout | undefined;
    // Unsubscribing it before the source is added makes add() end the source at once.
    const subscription = new Subscription();
    const hasRoom = () => writable && queue.length < options.maxBuffered / 2;
    const wake = () => {
      const ws = waiters;
      waiters = [];
      for (const w of ws) w();
    };
    const settle = (error?: unknown) => {
      if (ended) return;
      ended = true;
      clearTimeout(idle);
      subscription.unsubscribe();
      call.off('drain', onDrain);
      wake();
      options.onEnd();
      if (error !== undefined) out.error(error);
      else out.complete();
    };
    let completing = false;
    const flush = () => {
      while (writable && queue.length > 0) writable = call.write(queue.shift()!);
      if (hasRoom()) wake();
      if (completing && queue.length === 0) settle();
    };
    const onDrain = () => {
      writable = true;
      flush();
    };
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => finish(), options.idleMs);
      idle.unref();
    };
    // A clean end waits for what is queued to go out; an error drops it (the client is not reading).
    const finish = () => {
      if (completing) return;
      completing = true;
      subscription.unsubscribe();
      // Bounded too: a client that never reads the rest is let go after the idle time.
      clearTimeout(idle);
      idle = setTimeout(() => {
        queue.length = 0;
        settle();
      }, options.idleMs);
      idle.unref();
      flush();
    };
    call.on('drain', onDrain);
    armIdle();
    const ready = () => (ended || hasRoom() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)));
    subscription.add(source(ready).subscribe({
      next: (message) => {
        if (ended || completing) return;
        armIdle();
        if (writable && queue.length === 0) {
          writable = call.write(message);
          return;
        }
        queue.push(message);
        if (queue.length > options.maxBuffered) {
          queue.length = 0;
          settle(
            new FlotillaError(
              ErrorReason.ServiceUnavailable,
              `watch ended: the caller did not read, and ${options.maxBuffered} events waited unsent (FLOTILLA_WATCH_MAX_BUFFERED); watch again from the last resourceVersion received`,
              { retryAfterSeconds: 1 },
            ),
          );
        }
      },
      error: (error: unknown) => settle(error),
      complete: () => finish(),
    }));
    // The client went away (NestJS unsubscribes on cancel): give everything back.
    return () => {
      queue.length = 0;
      settle();
    };
  });
}
