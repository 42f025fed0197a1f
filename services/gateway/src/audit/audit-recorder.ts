import type { NextFunction, Request, Response } from 'express';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AuditEvent, AuditStore } from '@flotilla/clients';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import type { Logger } from '@flotilla/observability';
import { OPEN_PATHS } from '@flotilla/service-kit';
import { principalOf } from '../auth/principal';
import type { AuditLevel } from './audit-config';
import { AuditRecord, buildAuditEvent } from './audit-event';
import type { AuditSink } from './audit-sink';
import { isWriteVerb, requestAttributes } from './request-attributes';

export const AUDIT_RECORDER = Symbol('gateway.audit-recorder');

export interface AuditRecorderOptions {
  level: AuditLevel;
  /** Most events held (queued and being stored). */
  bufferSize: number;
  batchSize?: number;
  flushIntervalMs?: number;
  /** Longest wait between two tries to store a batch while the registry is unavailable. */
  maxBackoffMs?: number;
  sink?: AuditSink;
  logger: Logger;
  metrics: Registry;
}

/** Requests the middleware leaves to others: probes and metrics, the static API browser, and the proxy (it records its own, with the member's verb). */
// Proxied requests (canonical path and the /clusters/<name>/... alias) are recorded by the proxy itself.
const PROXY_PATH = /^\/(apis\/cluster\.kubesphere\.io\/v1alpha1\/clusters\/[^/?]+\/proxy|clusters\/[^/?]+)(\/|\?|$)/;
const skipped = (path: string) => OPEN_PATHS.includes(path) || path === '/docs' || path.startsWith('/docs/') || PROXY_PATH.test(path);

/** Reasons an event was not stored: no room for a read; the registry refused the batch as malformed; the process stopped before it could store it. */
type DropReason = 'buffer_full' | 'rejected' | 'shutdown';

/** Errors that no retry can fix: the batch itself is refused. Anything else (unavailable, timeout) is retried. */
const PERMANENT: ReadonlySet<string> = new Set([ErrorReason.Invalid, ErrorReason.BadRequest, ErrorReason.RequestEntityTooLarge]);

interface Waiter {
  /** The write's event, taken into the buffer when room frees; undefined: only wait for room. */
  event?: AuditEvent;
  resolve(): void;
}

/**
 * Audit recording off the request path. Events are buffered (bounded), written to the sink once
 * and stored through AuditStore.append in batches (every flushIntervalMs, or at once when a batch
 * is full); when the registry is unavailable the batch is retried with backoff, and held until it
 * is stored. A full buffer makes writes wait and drops reads (counted): no write is ever lost while
 * the process lives, and memory stays bounded whatever the registry does.
 */
export class AuditRecorder {
  private queue: AuditEvent[] = [];
  /** The batch being stored: still counted in the buffer until the store has it. */
  private inflight: AuditEvent[] = [];
  private readonly waiters: Waiter[] = [];
  private pumping?: Promise<void>;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private closeDeadline = Infinity;
  private backoffMs = 0;
  private wake?: () => void;
  private readonly batchSize: number;
  private readonly maxBackoffMs: number;
  private readonly dropped: Counter<'reason'>;
  private readonly stored: Counter;
  private readonly failures: Counter;

  constructor(
    private readonly store: AuditStore,
    private readonly options: AuditRecorderOptions,
  ) {
    this.batchSize = options.batchSize ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    const registers = [options.metrics];
    this.dropped = new Counter({ name: 'flotilla_audit_dropped_total', help: 'Audit events not stored, by reason (buffer_full: a read with no room; rejected; shutdown)', labelNames: ['reason'], registers });
    this.stored = new Counter({ name: 'flotilla_audit_stored_total', help: 'Audit events stored in the registry', registers });
    this.failures = new Counter({ name: 'flotilla_audit_store_failures_total', help: 'Failed attempts to store a batch of audit events (retried)', registers });
    // Read at scrape time, so the request path never touches a metric for them.
    const held = () => this.size;
    const waiting = () => this.waiters.length;
    new Gauge({ name: 'flotilla_audit_buffered', help: 'Audit events held in memory, waiting to be stored', registers, collect() { this.set(held()); } });
    new Gauge({ name: 'flotilla_audit_waiting_writes', help: 'Write requests waiting for room in the audit buffer', registers, collect() { this.set(waiting()); } });
    this.timer = setInterval(() => void this.pump(true), options.flushIntervalMs ?? 500);
    this.timer.unref();
  }

  private drop(reason: DropReason, count = 1): void {
    this.dropped.inc({ reason }, count);
  }

  /** Events held: queued and being stored. */
  get size(): number {
    return this.queue.length + this.inflight.length;
  }

  private get full(): boolean {
    return this.size >= this.options.bufferSize || this.waiters.length > 0;
  }

  /** Whether requests with this verb are recorded at the configured level. */
  records(verb: string): boolean {
    if (this.options.level === 'None') return false;
    return this.options.level === 'All' || isWriteVerb(verb);
  }

  /**
   * Queues one event. A write resolves once it is buffered (waiting for room when full); a read,
   * or a request nobody authenticated, is dropped and counted when there is no room.
   */
  record(record: AuditRecord): Promise<void> {
    if (!this.records(record.verb)) return Promise.resolve();
    if (this.closed) {
      this.drop('shutdown');
      return Promise.resolve();
    }
    const event = buildAuditEvent(record);
    if (!this.full) {
      this.queue.push(event);
      // A full batch, or a full buffer, is stored at once rather than on the next tick.
      if (this.size >= this.options.bufferSize) void this.pump(true);
      else if (this.queue.length >= this.batchSize) void this.pump(false);
      return Promise.resolve();
    }
    // Unauthenticated requests never wait: otherwise anyone could stall every writer by flooding.
    if (!isWriteVerb(record.verb) || !record.principal) {
      this.drop('buffer_full');
      return Promise.resolve();
    }
    void this.pump(true);
    return new Promise<void>((resolve) => this.waiters.push({ event, resolve }));
  }

  /** Resolves when the buffer has room (at once when it has): write requests wait here before they run. */
  room(): Promise<void> {
    if (!this.full || this.closed) return Promise.resolve();
    void this.pump(true);
    return new Promise<void>((resolve) => this.waiters.push({ resolve }));
  }

  /** Hands freed room to waiters, oldest first. */
  private release(): void {
    while (this.waiters.length > 0 && this.size < this.options.bufferSize) {
      const waiter = this.waiters.shift()!;
      if (waiter.event) this.queue.push(waiter.event);
      waiter.resolve();
    }
    if (this.queue.length >= this.batchSize) void this.pump(false);
  }

  /**
   * Stores batches until the queue is empty (`all`) or holds less than a full batch. One pump at a
   * time; a failed batch is kept and retried after a backoff doubling up to maxBackoffMs.
   */
  private pump(all: boolean): Promise<void> {
    this.pumping ??= this.drainQueue(all).finally(() => (this.pumping = undefined));
    return this.pumping;
  }

  private async drainQueue(all: boolean): Promise<void> {
    for (;;) {
      if (this.inflight.length === 0) {
        if (this.queue.length === 0 || (!all && this.queue.length < this.batchSize)) return;
        this.inflight = this.queue.splice(0, this.batchSize);
        this.options.sink?.write(this.inflight);
      }
      try {
        await this.store.append(this.inflight);
        this.stored.inc(this.inflight.length);
        this.inflight = [];
        this.backoffMs = 0;
        this.release();
      } catch (error) {
        if (error instanceof FlotillaError && PERMANENT.has(error.reason)) {
          this.options.logger.error({ err: error.message, events: this.inflight.length }, 'audit: the registry refused a batch of events; it is dropped');
          this.drop('rejected', this.inflight.length);
          this.inflight = [];
          this.release();
          continue;
        }
        this.failures.inc();
        this.backoffMs = Math.min(this.maxBackoffMs, this.backoffMs === 0 ? 100 : this.backoffMs * 2);
        if (this.closed && Date.now() + this.backoffMs > this.closeDeadline) return;
        this.options.logger.warn(
          { err: error instanceof Error ? error.message : String(error), held: this.size, retryInMs: this.backoffMs },
          'audit: cannot store events yet; holding them and retrying',
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => resolve(), this.backoffMs);
          // In service, the wait must not keep the process alive; at shutdown it must, or Node exits
          // mid-retry (nothing else holds the loop once HTTP and gRPC are closed) and the events are
          // lost without the "not stored at shutdown" report.
          if (!this.closed) timer.unref();
          // close() cuts the wait short: shutdown retries at once, within its own deadline.
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  /** Stores everything buffered now (tests, and shutdown). */
  async flush(): Promise<void> {
    while (this.size > 0) {
      const before = this.size;
      await this.pump(true);
      if (this.closed && this.size >= before) return; // out of time at shutdown
    }
  }

  /**
   * At shutdown, after the HTTP server has finished its requests: stores what is held, retrying
   * until the deadline, then reports what could not be stored (a count; never event contents).
   */
  async close(deadlineMs: number): Promise<void> {
    clearInterval(this.timer);
    this.closed = true;
    this.closeDeadline = Date.now() + deadlineMs;
    this.backoffMs = 0;
    this.wake?.();
    // Writes still waiting for room join the queue: the drain below takes them too.
    for (const waiter of this.waiters.splice(0)) {
      if (waiter.event) this.queue.push(waiter.event);
      waiter.resolve();
    }
    await this.flush();
    if (this.size > 0) {
      this.options.logger.error({ lost: this.size }, 'audit: the registry stayed unavailable; events not stored at shutdown');
      this.drop('shutdown', this.size);
      // The batch being stored went to the sink when it was taken; the rest has not yet.
      this.options.sink?.write(this.queue);
      this.queue = [];
      this.inflight = [];
    }
    await this.options.sink?.close();
  }

  /**
   * Records every request on Flotilla's own API when its response is complete (or the client went
   * away). When the buffer is full, a write request waits for room before it runs: the caller
   * feels the backpressure instead of the record being lost.
   */
  middleware() {
    return (req: Request, res: Response, next: NextFunction) => {
      if (skipped(req.path)) return next();
      const startedAt = new Date();
      const { verb, objectRef } = requestAttributes(req.method, req.originalUrl ?? req.url);
      if (!this.records(verb)) return next();
      let done = false;
      const finish = (aborted: boolean) => {
        if (done) return;
        done = true;
        const requestId = res.getHeader('X-Request-Id');
        void this.record({
          principal: principalOf(req),
          verb,
          requestURI: req.originalUrl,
          objectRef,
          code: res.statusCode,
          startedAt,
          sourceIP: req.socket.remoteAddress,
          userAgent: req.headers['user-agent'],
          requestId: typeof requestId === 'string' ? requestId : undefined,
          aborted,
        });
      };
      res.once('finish', () => finish(false));
      res.once('close', () => finish(!res.writableFinished));
      if (isWriteVerb(verb) && this.full) void this.room().then(() => next());
      else next();
    };
  }
}
