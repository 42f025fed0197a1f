import { Gauge } from 'prom-client';
import { Observable, Subscriber } from 'rxjs';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import type { ServiceRuntime } from '@flotilla/service-kit';
import type { ChangeListener, NotifyChannel } from './change-listener';
import { CoalescingTask } from './coalescing-task';

/** Items of a sequence-ordered table, oldest first, and the position everything up to which they cover. */
export interface SequencePage<T> {
  items: readonly T[];
  reached: bigint;
}

/** What a SequenceHub follows; `F` is a stream's filter (its resources, its cluster). */
export interface SequenceSource<T, F> {
  /** The newest position with everything up to it committed. */
  head(): Promise<bigint>;
  /**
   * At most `limit` items after `after`, with the position reached (on a full page, its last
   * item's). `after` is a position the hub reached, or a stream's own `since` when the source has
   * no `start` (so the page refuses a bad one: Gone, BadRequest). The source may leave out what
   * `filter` refuses (the hub filters again); the reader passes none.
   */
  page(after: string, limit: number, filter: F | undefined): Promise<SequencePage<T>>;
  /** Validates a stream's `since` and says where it starts (optional: see `page`). */
  start?(since: string): Promise<bigint>;
  position(item: T): bigint;
  matches(item: T, filter: F): boolean;
}

export interface SequenceHubTuning {
  /** Safety-net re-read (a lost notification only delays an item by this much). */
  pollMs: number;
  /** A stream that sent nothing for this long gets an empty batch at its position (a bookmark). */
  bookmarkMs: number;
}

export interface SequenceHubOptions<T, B> {
  /** Notified at each commit that appends to the table (through the registry's one LISTEN connection). */
  channel: NotifyChannel;
  /** The shutdown drain's name, and a gauge of the open streams. */
  drain: string;
  gauge: { name: string; help: string };
  /** Items per query: a stream's catch-up, the reader. */
  catchUpPage: number;
  readPage: number;
  /**
   * true: every catch-up page and every fan-out is sent, even with nothing of the stream's (its
   * position is exact at every read); false: the first batch, then only batches with items.
   */
  sendEmpty: boolean;
  batch(items: T[], position: bigint): B;
  /** Logged when a read fails; it is retried at the next signal or tick. */
  readerFailed: string;
  /** A read failure that also ends the live streams with it (they start again) and re-reads the head. */
  endsLiveStreams?(error: unknown): boolean;
  /** The ServiceUnavailable a stream opened during shutdown gets. */
  shuttingDown: string;
}

interface Watcher<F, B> {
  /** Every item up to here (that its filter takes) is sent. */
  position: bigint;
  filter: F | undefined;
  out: Subscriber<B>;
  /** Fed by the reader; false while it catches up from the database. */
  live: boolean;
  closed: boolean;
  sentAt: number;
}

/**
 * Pushes what is appended to a sequence-ordered table to server streams (ADR 0036). One reader
 * per registry replica follows the table, woken by a signal (NOTIFY at each commit) and by a
 * timer as a safety net, one read at a time (CoalescingTask), and fans each page out to the live
 * streams, filtered per stream. A new stream first catches up from the database on its own (paged,
 * waiting for room between pages) until it reaches what the reader has fanned out, then joins it.
 * Writers commit in sequence order (their advisory lock), so "everything up to the reader's
 * position" is exact: nothing is missed or sent twice. Idle streams get bookmarks; shutdown ends them.
 */
export class SequenceHub<T, F, B> {
  private head = 0n;
  private readonly watchers = new Set<Watcher<F, B>>();
  private readonly reader: CoalescingTask;
  private timers: NodeJS.Timeout[] = [];
  private unlisten?: () => void;

  constructor(
    private readonly source: SequenceSource<T, F>,
    private readonly listener: Pick<ChangeListener, 'on'>,
    private readonly runtime: ServiceRuntime,
    private readonly tuning: SequenceHubTuning,
    private readonly options: SequenceHubOptions<T, B>,
  ) {
    this.reader = new CoalescingTask(() => this.read(), (error) => this.readFailed(error));
    runtime.shutdown.onDrain(options.drain, async () => this.close());
  }

  /** At bootstrap: reads the head, then reads at every notification (from any replica) and every `pollMs`. */
  async start(): Promise<void> {
    const watchers = this.watchers;
    new Gauge({
      ...this.options.gauge,
      registers: [this.runtime.metrics.registry],
      collect() {
        this.set(watchers.size);
      },
    });
    this.head = await this.source.head();
    this.unlisten = this.listener.on(this.options.channel, () => this.reader.kick());
    this.timers = [setInterval(() => this.reader.kick(), this.tuning.pollMs), setInterval(() => this.bookmarks(), this.tuning.bookmarkMs)];
    for (const t of this.timers) t.unref();
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** A stream from `since` of what `filter` takes (all when undefined); `ready` resolves when the consumer has room. */
  watch(since: string, filter: F | undefined, ready: () => Promise<void>): Observable<B> {
    return new Observable<B>((out) => {
      const w: Watcher<F, B> = { position: 0n, filter, out, live: false, closed: false, sentAt: Date.now() };
      this.watchers.add(w);
      this.catchUp(w, since, ready).catch((error: unknown) => this.end(w, error));
      return () => this.end(w);
    });
  }

  private async catchUp(w: Watcher<F, B>, since: string, ready: () => Promise<void>): Promise<void> {
    if (this.reader.stopped) throw new FlotillaError(ErrorReason.ServiceUnavailable, this.options.shuttingDown, { retryAfterSeconds: 1 });
    let from = since;
    if (this.source.start) from = (w.position = await this.source.start(since)).toString();
    const limit = this.options.catchUpPage;
    for (let first = true; ; first = false) {
      // What the reader has fanned out so far: a short page read after it covers it all.
      const fannedOut = this.head;
      const page = await this.source.page(from, limit, w.filter);
      if (w.closed) return;
      w.position = page.items.length < limit && fannedOut > page.reached ? fannedOut : page.reached;
      const mine = this.mine(w, page.items);
      if (first || mine.length > 0 || this.options.sendEmpty) this.send(w, this.options.batch(mine, w.position));
      from = w.position.toString();
      // Joins once it has everything the reader fanned out; later fan-outs are newer than `head`.
      if (page.items.length < limit && w.position >= this.head) {
        w.live = true;
        return;
      }
      await ready();
      if (w.closed) return;
    }
  }

  private mine(w: Watcher<F, B>, items: readonly T[]): T[] {
    const filter = w.filter;
    return filter === undefined ? [...items] : items.filter((item) => this.source.matches(item, filter));
  }

  private send(w: Watcher<F, B>, batch: B): void {
    w.sentAt = Date.now();
    w.out.next(batch);
  }

  private anyLive(): boolean {
    for (const w of this.watchers) if (w.live) return true;
    return false;
  }

  /** One read of the table (CoalescingTask: one at a time, a signal meanwhile runs one more). */
  private async read(): Promise<void> {
    if (!this.anyLive()) {
      // Nobody to feed: only keep up, so a stream that joins later does not read from far back.
      const current = await this.source.head();
      // One that joined meanwhile stands at the old head: feed it from there, not from `current`.
      if (this.anyLive()) this.reader.kick();
      else if (current > this.head) this.head = current;
      return;
    }
    for (;;) {
      const page = await this.source.page(this.head.toString(), this.options.readPage, undefined);
      this.fanOut(page.items, page.reached);
      if (page.reached > this.head) this.head = page.reached;
      if (page.items.length < this.options.readPage || this.reader.stopped) return;
    }
  }

  private fanOut(items: readonly T[], reached: bigint): void {
    for (const w of this.watchers) {
      if (!w.live || reached <= w.position) continue;
      const sent = w.position;
      const mine = this.mine(w, items.filter((item) => this.source.position(item) > sent));
      w.position = reached;
      if (mine.length > 0 || this.options.sendEmpty) this.send(w, this.options.batch(mine, reached));
    }
  }

  private readFailed(error: unknown): void {
    this.runtime.logger.warn({ err: error instanceof Error ? error.message : String(error) }, this.options.readerFailed);
    if (!this.options.endsLiveStreams?.(error)) return;
    for (const w of [...this.watchers]) if (w.live) this.end(w, error);
    this.source.head().then((head) => (this.head = head), () => undefined);
  }

  private bookmarks(): void {
    const due = Date.now() - this.tuning.bookmarkMs;
    for (const w of this.watchers) if (w.live && w.sentAt <= due) this.send(w, this.options.batch([], w.position));
  }

  private end(w: Watcher<F, B>, error?: unknown): void {
    if (w.closed) return;
    w.closed = true;
    this.watchers.delete(w);
    if (error !== undefined) w.out.error(error);
    else w.out.complete();
  }

  /** Refuses new streams and reads, ends the open streams, then waits for the read in flight. */
  private async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.unlisten?.();
    const stopped = this.reader.stop();
    for (const w of [...this.watchers]) this.end(w);
    await stopped;
  }
}
