import type { Response } from 'express';
import type { Observable } from 'rxjs';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { toKubeStatus } from '@flotilla/service-kit';
import type { Written } from '../clusters/clusters-api.service';
import { StreamBounds, StreamLimitError } from '../clusters/stream-limiter';

/** Sends a written object with its Kubernetes-style Warning headers. */
export function sendWritten<T>(res: Response, code: number, written: Written<T>): void {
  if (written.warnings.length > 0) res.setHeader('Warning', written.warnings.map((w) => `299 - ${JSON.stringify(w)}`));
  res.status(code).json(written.body);
}

/** How long a stream ended for not reading may take to flush its last event before the socket is closed. */
const OVERFLOW_GRACE_MS = 5000;

/**
 * Takes the caller's stream slot. Past the per-caller limit the answer is 429 TooManyRequests
 * with a Retry-After and a Status naming the limit. Returns undefined when refused (the response
 * is sent).
 */
export function takeStreamSlot(res: Response, bounds: StreamBounds | undefined): (() => void) | undefined {
  if (!bounds) return () => undefined;
  try {
    return bounds.acquire();
  } catch (error) {
    if (!(error instanceof StreamLimitError)) throw error;
    sendStatus(res, toKubeStatus(error));
    return undefined;
  }
}

/** A Status as the whole answer, with Retry-After when it names one. */
function sendStatus(res: Response, status: ReturnType<typeof toKubeStatus>): void {
  if (status.details?.retryAfterSeconds) res.setHeader('Retry-After', String(status.details.retryAfterSeconds));
  res.status(status.code).type('application/json').send(JSON.stringify(status));
}

/** The Status of a stream ended because its client stopped reading. */
export function overflowStatus(maxBufferedBytes: number) {
  return toKubeStatus(
    new FlotillaError(
      ErrorReason.ServiceUnavailable,
      `the stream was ended: the client did not read and more than ${maxBufferedBytes} bytes waited unsent (FLOTILLA_WATCH_MAX_BUFFERED_BYTES); watch again from the last resourceVersion received`,
      { retryAfterSeconds: 1 },
    ),
  );
}

/**
 * Ends a response whose client does not read: the last chunk (an ERROR event) is queued, and if
 * even that is not taken within a grace period, the connection is closed: memory stays bounded.
 */
export function endUnread(res: Response, last: string): void {
  res.end(last);
  const timer = setTimeout(() => res.destroy(), OVERFLOW_GRACE_MS);
  timer.unref();
  res.once('finish', () => clearTimeout(timer));
  res.once('close', () => clearTimeout(timer));
}

/**
 * Streams watch events as newline-delimited JSON, as the Kubernetes API server does. An error
 * before the first event is a plain Status response; after it, an ERROR event carrying the Status.
 * With bounds (issue 13): a per-caller slot (429 past it), an idle end (no event or bookmark for
 * idleMs: the stream ends and the client watches again), and a bound on unsent bytes (past it,
 * an ERROR event and the end).
 */
export function streamWatch(res: Response, events: Observable<unknown>, timeoutSeconds?: number, bounds?: StreamBounds): Promise<void> {
  const release = takeStreamSlot(res, bounds);
  if (!release) return Promise.resolve();
  return new Promise<void>((resolve) => {
    // Like the API server: the stream ends after timeoutSeconds, and the client watches again.
    const endTimer = timeoutSeconds !== undefined ? setTimeout(() => finish(), timeoutSeconds * 1000) : undefined;
    let idleTimer: NodeJS.Timeout | undefined;
    const armIdle = () => {
      if (!bounds) return;
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => finish(), bounds.idleMs);
      idleTimer.unref();
    };
    let started = false;
    let done = false;
    const start = () => {
      if (started) return;
      started = true;
      res.status(200).setHeader('Content-Type', 'application/json');
      res.setHeader('Transfer-Encoding', 'chunked');
      res.flushHeaders();
    };
    const startTimer = setTimeout(start, 250);
    const subscriptions: { unsubscribe(): void }[] = [];
    const stop = () => {
      done = true;
      clearTimeout(startTimer);
      clearTimeout(endTimer);
      clearTimeout(idleTimer);
      for (const s of subscriptions) s.unsubscribe();
      release();
      resolve();
    };
    const finish = () => {
      if (done) return;
      stop();
      if (!res.writableEnded) {
        start();
        res.end();
      }
    };
    armIdle();
    const subscription = events.subscribe({
      next: (event) => {
        if (done) return;
        start();
        armIdle();
        res.write(`${JSON.stringify(event)}\n`);
        if (bounds && res.writableLength > bounds.maxBufferedBytes) {
          stop();
          endUnread(res, `${JSON.stringify({ type: 'ERROR', object: overflowStatus(bounds.maxBufferedBytes) })}\n`);
        }
      },
      error: (error: unknown) => {
        if (done) return;
        stop();
        const status = toKubeStatus(error);
        if (!started) sendStatus(res, status);
        else res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      },
      complete: () => finish(),
    });
    subscriptions.push(subscription);
    if (done) subscription.unsubscribe();
    res.on('close', () => finish());
  });
}

/** A list in the Kubernetes shape, one page of it. */
export interface ListPage {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: unknown[];
}

/** Waits until the response can take more (or the client is gone: false). */
function drained(res: Response): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return Promise.resolve(false);
  if (!res.writableNeedDrain) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}

/**
 * A whole list (Kubernetes: no limit means everything), sent as it is read page by page: the
 * JSON is written item by item with backpressure, so neither the fleet nor its JSON is ever held
 * whole. The list's resourceVersion is the first page's. An error before the first page is a
 * Status answer; after the body began, the connection is cut so the client sees an incomplete
 * list, never a short one that looks whole.
 */
export async function streamList(res: Response, pages: AsyncIterable<ListPage>): Promise<void> {
  const iterator = pages[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) throw new Error('a list has at least one page');
  const head = first.value;
  if (!head.metadata.continue) {
    res.status(200).json(head);
    return;
  }
  res.status(200).setHeader('Content-Type', 'application/json');
  const meta = { resourceVersion: head.metadata.resourceVersion };
  res.write(`{"apiVersion":${JSON.stringify(head.apiVersion)},"kind":${JSON.stringify(head.kind)},"metadata":${JSON.stringify(meta)},"items":[`);
  let count = 0;
  let page: ListPage | undefined = head;
  try {
    while (page) {
      for (const item of page.items) {
        if (!res.write(`${count++ === 0 ? '' : ','}${JSON.stringify(item)}`) && !(await drained(res))) return;
      }
      if (res.destroyed) return;
      const next: IteratorResult<ListPage> = page.metadata.continue ? await iterator.next() : { done: true, value: undefined };
      page = next.done ? undefined : next.value;
    }
    res.end(']}');
  } catch (error) {
    res.destroy(error instanceof Error ? error : new Error(String(error)));
  } finally {
    await iterator.return?.();
  }
}
