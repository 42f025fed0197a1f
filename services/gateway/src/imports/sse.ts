import type { Response } from 'express';
import type { Observable } from 'rxjs';
import { toKubeStatus } from '@flotilla/service-kit';
import type { StreamBounds } from '../clusters/stream-limiter';
import { endUnread, overflowStatus, takeStreamSlot } from '../http/responses';

/**
 * Streams events as server-sent events: "event: <type>" and "data: <object JSON>"; errors as an
 * ERROR event with a Status. With bounds (issue 13): the caller's slot (429 past the per-user
 * limit), an idle end (no event for idleMs; an SSE client reconnects), and a bound on unsent
 * bytes (past it, an ERROR event and the end).
 */
export function streamSse(res: Response, events: Observable<{ type: string; object: unknown }>, bounds?: StreamBounds): Promise<void> {
  const release = takeStreamSlot(res, bounds);
  if (!release) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let done = false;
    let idle: NodeJS.Timeout | undefined;
    let subscription: { unsubscribe(): void } | undefined = undefined;
    const stop = () => {
      done = true;
      clearTimeout(idle);
      subscription?.unsubscribe();
      release();
      resolve();
    };
    const armIdle = () => {
      if (!bounds) return;
      clearTimeout(idle);
      idle = setTimeout(() => {
        stop();
        res.end();
      }, bounds.idleMs);
      idle.unref();
    };
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write(': flotilla import jobs\n\n');
    armIdle();
    subscription = events.subscribe({
      next: (e) => {
        if (done) return;
        armIdle();
        res.write(`event: ${e.type}\ndata: ${JSON.stringify(e.object)}\n\n`);
        if (bounds && res.writableLength > bounds.maxBufferedBytes) {
          stop();
          endUnread(res, `event: ERROR\ndata: ${JSON.stringify(overflowStatus(bounds.maxBufferedBytes))}\n\n`);
        }
      },
      error: (error: unknown) => {
        if (done) return;
        stop();
        res.end(`event: ERROR\ndata: ${JSON.stringify(toKubeStatus(error))}\n\n`);
      },
      complete: () => {
        if (done) return;
        stop();
        res.end();
      },
    });
    if (done) subscription.unsubscribe();
    res.on('close', () => {
      if (!done) stop();
    });
  });
}
