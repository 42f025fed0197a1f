import type { Response } from 'express';
import type { Observable } from 'rxjs';
import { toKubeStatus } from '@flotilla/service-kit';

/** Streams events as server-sent events: "event: <type>" and "data: <object JSON>"; errors as an ERROR event with a Status. */
export function streamSse(res: Response, events: Observable<{ type: string; object: unknown }>): Promise<void> {
  return new Promise<void>((resolve) => {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write(': flotilla import jobs\n\n');
    const subscription = events.subscribe({
      next: (e) => void res.write(`event: ${e.type}\ndata: ${JSON.stringify(e.object)}\n\n`),
      error: (error: unknown) => {
        res.end(`event: ERROR\ndata: ${JSON.stringify(toKubeStatus(error))}\n\n`);
        resolve();
      },
      complete: () => {
        res.end();
        resolve();
      },
    });
    res.on('close', () => {
      subscription.unsubscribe();
      resolve();
    });
  });
}
