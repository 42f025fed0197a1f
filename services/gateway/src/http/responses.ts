import type { Response } from 'express';
import type { Observable } from 'rxjs';
import { toKubeStatus } from '@flotilla/service-kit';
import type { Written } from '../clusters/clusters-api.service';

/** Sends a written object with its Kubernetes-style Warning headers. */
export function sendWritten<T>(res: Response, code: number, written: Written<T>): void {
  if (written.warnings.length > 0) res.setHeader('Warning', written.warnings.map((w) => `299 - ${JSON.stringify(w)}`));
  res.status(code).json(written.body);
}

/**
 * Streams watch events as newline-delimited JSON, as the Kubernetes API server does. An error
 * before the first event is a plain Status response; after it, an ERROR event carrying the Status.
 */
export function streamWatch(res: Response, events: Observable<unknown>, timeoutSeconds?: number): Promise<void> {
  return new Promise<void>((resolve) => {
    // Like the API server: the stream ends after timeoutSeconds, and the client watches again.
    const endTimer = timeoutSeconds !== undefined ? setTimeout(() => finish(), timeoutSeconds * 1000) : undefined;
    let started = false;
    const start = () => {
      if (started) return;
      started = true;
      res.status(200).setHeader('Content-Type', 'application/json');
      res.setHeader('Transfer-Encoding', 'chunked');
      res.flushHeaders();
    };
    const startTimer = setTimeout(start, 250);
    const subscriptions: { unsubscribe(): void }[] = [];
    const finish = () => {
      clearTimeout(startTimer);
      clearTimeout(endTimer);
      for (const s of subscriptions) s.unsubscribe();
      if (!res.writableEnded) {
        start();
        res.end();
      }
      resolve();
    };
    const subscription = events.subscribe({
      next: (event) => {
        start();
        res.write(`${JSON.stringify(event)}\n`);
      },
      error: (error: unknown) => {
        clearTimeout(startTimer);
        clearTimeout(endTimer);
        const status = toKubeStatus(error);
        if (!started) res.status(status.code).type('application/json').send(JSON.stringify(status));
        else res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
        resolve();
      },
      complete: () => finish(),
    });
    subscriptions.push(subscription);
    res.on('close', () => finish());
  });
}
