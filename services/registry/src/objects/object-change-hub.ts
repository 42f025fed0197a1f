import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { Observable, Subscriber } from 'rxjs';
import type { ObjectChange, ObjectChangePage } from '@flotilla/clients';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import { ChangeListener, NotifyChannel } from '../infrastructure/change-listener';
import { CHANGE_LISTENER } from '../infrastructure/tokens';
import { CHANGES_DEFAULT_LIMIT, CHANGES_MAX_LIMIT } from './object-rules';
import { ObjectsService } from './objects.service';

export const OBJECT_WATCH_TUNING = Symbol('registry.object-watch-tuning');
export interface ObjectWatchTuning {
  /** Safety-net re-read of the change log (a lost notification only delays a change by this much). */
  pollMs: number;
  /** A stream that sent nothing for this long gets an empty batch at its revision (a bookmark). */
  bookmarkMs: number;
}

interface Watcher {
  /** Every change up to here (of its resources) is sent. */
  position: bigint;
  resources?: ReadonlySet<string>;
  out: Subscriber<ObjectChangePage>;
  /** Fed by the pump; false while it catches up from the database. */
  live: boolean;
  closed: boolean;
  sentAt: number;
}

/**
 * Pushes committed object changes to WatchObjectChanges streams (ADR 0036). One reader per
 * registry replica follows the change log, woken by NOTIFY at each commit and by a timer as a
 * safety net, and fans each page out to the live streams, filtered by resource. A new stream first
 * catches up from the database on its own (paged, waiting for room between pages) until it
 * reaches what the reader has fanned out, then joins it. Revisions commit in order (the writers'
 * lock), so "everything up to the reader's revision" is exact.
 */
@Injectable()
export class ObjectChangeHub implements OnApplicationBootstrap {
  private head = 0n;
  private readonly watchers = new Set<Watcher>();
  private pumping?: Promise<void>;
  private pumpAgain = false;
  private timers: NodeJS.Timeout[] = [];
  private unlisten?: () => void;
  private closed = false;

  constructor(
    private readonly objects: ObjectsService,
    @Inject(CHANGE_LISTENER) private readonly listener: ChangeListener,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(OBJECT_WATCH_TUNING) private readonly tuning: ObjectWatchTuning,
  ) {
    runtime.shutdown.onDrain('object-watchers', async () => this.close());
  }

  async onApplicationBootstrap(): Promise<void> {
    const watchers = this.watchers;
    new Gauge({
      name: 'flotilla_registry_object_watchers',
      help: 'Open WatchObjectChanges streams on this registry replica',
      registers: [this.runtime.metrics.registry],
      collect() {
        this.set(watchers.size);
      },
    });
    this.head = BigInt(await this.objects.headRevision());
    // Woken by every object write's NOTIFY at commit, from any replica (the registry's one LISTEN connection).
    this.unlisten = this.listener.on(NotifyChannel.objectChanges, () => this.pump());
    this.timers = [setInterval(() => this.pump(), this.tuning.pollMs), setInterval(() => this.bookmarks(), this.tuning.bookmarkMs)];
    for (const t of this.timers) t.unref();
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /**
   * The changes after `since` of `resources` (all when empty), as they commit: every page the
   * catch-up reads (the first even when empty: the stream stands at its revision), then a batch
   * per read of the log (empty when none of its resources changed), and bookmarks when idle. Gone/BadRequest as changesSince.
   * `ready` resolves when the consumer has room (the catch-up waits on it between pages).
   */
  watch(since: string, resources: readonly string[], ready: () => Promise<void> = () => Promise.resolve()): Observable<ObjectChangePage> {
    return new Observable<ObjectChangePage>((out) => {
      const w: Watcher = { position: 0n, resources: resources.length > 0 ? new Set(resources) : undefined, out, live: false, closed: false, sentAt: Date.now() };
      this.watchers.add(w);
      this.catchUp(w, since, [...resources], ready).catch((error: unknown) => this.end(w, error));
      return () => this.end(w);
    });
  }

  private async catchUp(w: Watcher, since: string, resources: string[], ready: () => Promise<void>): Promise<void> {
    if (this.closed) throw this.shuttingDown();
    let from = since;
    for (;;) {
      const page = await this.objects.changesSince(from, { resources, limit: CHANGES_DEFAULT_LIMIT });
      if (w.closed) return;
      w.position = BigInt(page.revision);
      this.send(w, page);
      from = page.revision;
      // Joins once it has everything the reader fanned out; later fan-outs are newer than `head`.
      if (page.changes.length < CHANGES_DEFAULT_LIMIT && w.position >= this.head) {
        w.live = true;
        return;
      }
      await ready();
      if (w.closed) return;
    }
  }

  private send(w: Watcher, page: ObjectChangePage): void {
    w.sentAt = Date.now();
    w.out.next(page);
  }

  /** One read of the log at a time; a signal during a read runs another right after it. */
  private pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = this.pumpNow()
      .catch((error: unknown) => this.fellBehind(error))
      .finally(() => {
        this.pumping = undefined;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.pump();
        }
      });
  }

  private async pumpNow(): Promise<void> {
    if (![...this.watchers].some((w) => w.live)) {
      // Nobody to feed: only keep up, so a stream that joins later is not sent back to the start.
      const current = BigInt(await this.objects.headRevision());
      if (current > this.head) this.head = current;
      return;
    }
    for (;;) {
      const page = await this.objects.changesSince(this.head.toString(), { limit: CHANGES_MAX_LIMIT });
      const reached = BigInt(page.revision);
      this.fanOut(page.changes, reached);
      if (reached > this.head) this.head = reached;
      if (page.changes.length < CHANGES_MAX_LIMIT || this.closed) return;
    }
  }

  private fanOut(changes: readonly ObjectChange[], reached: bigint): void {
    for (const w of this.watchers) {
      if (!w.live || reached <= w.position) continue;
      const mine = changes.filter((c) => BigInt(c.revision) > w.position && (!w.resources || w.resources.has(c.object.resource)));
      w.position = reached;
      // Sent even when empty: the stream's revision is exact, so a writer waiting for its own
      // revision (the gateway's caughtUp) is answered whatever resource it wrote.
      this.send(w, { changes: mine, revision: reached.toString() });
    }
  }

  /** The reader failed: a database outage is retried by the next signal or tick; a Gone ends the streams (they list again). */
  private fellBehind(error: unknown): void {
    this.runtime.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'object change reader failed');
    if (!(error instanceof FlotillaError) || error.reason !== ErrorReason.Gone) return;
    for (const w of [...this.watchers]) if (w.live) this.end(w, error);
    this.objects
      .headRevision()
      .then((rv) => (this.head = BigInt(rv)))
      .catch(() => undefined);
  }

  private bookmarks(): void {
    const due = Date.now() - this.tuning.bookmarkMs;
    for (const w of this.watchers) if (w.live && w.sentAt <= due) this.send(w, { changes: [], revision: w.position.toString() });
  }

  private end(w: Watcher, error?: unknown): void {
    if (w.closed) return;
    w.closed = true;
    this.watchers.delete(w);
    if (error !== undefined) w.out.error(error);
    else w.out.complete();
  }

  private shuttingDown(): FlotillaError {
    return new FlotillaError(ErrorReason.ServiceUnavailable, 'the registry is shutting down: watch again from the last revision received', { retryAfterSeconds: 1 });
  }

  private async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const w of [...this.watchers]) this.end(w);
    this.unlisten?.();
    await this.pumping;
  }
}
