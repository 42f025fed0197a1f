import type { Observable, Subscription } from 'rxjs';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import type { ObjectChange, ObjectChangePage, ObjectStore, StoredObject } from './object-store';

/** A store that pushes its changes (ObjectsClient.watchChanges over WatchObjectChanges, ADR 0036). */
export interface ObjectChangeStream {
  /** Pages after `since` as they commit (an empty one moves the revision on); MethodNotAllowed when not served. */
  watchChanges(since: string, options?: { resources?: string[] }): Observable<ObjectChangePage>;
}

/** One resource listed in full, consistent with `revision` (a decimal string: compare as BigInt). */
export interface ObjectListing {
  items: StoredObject[];
  revision: string;
}

export interface ObjectFollowerOptions {
  /**
   * Resources listed in full (the ones `sync` asked for; every followed one after a Gone). Changes
   * after each listing's revision follow through onChanges; some may already be in the listing
   * (the first page's revision is the list's), so apply changes idempotently.
   */
  onSync(listings: ReadonlyMap<string, ObjectListing>): void;
  /**
   * One page of changes of the followed resources, oldest first (possibly empty: the cursor moved
   * on). `revision` (the `revision` getter too) is where the follower now stands.
   */
  onChanges(changes: readonly ObjectChange[], revision: string): void;
  /** The change log no longer reaches back to the cursor: every followed resource is listed again at once. */
  onGone?(error: unknown): void;
  /** A failed list or poll (retried with backoff; `failures` in a row), or a throwing handler. */
  onError?(error: unknown, failures: number): void;
  /** The interval between polls when nothing is waiting; used only when the store does not push (see `stream`). */
  pollMs: number;
  /**
   * Follow the store's push stream when it has one (default true): changes arrive as they commit,
   * and polling is the fallback for a registry that does not serve the stream.
   */
  stream?: boolean;
  /** The first wait before opening the stream again after it failed (default 100 ms; doubles up to maxBackoffMs). */
  reconnectMs?: number;
  /** Objects per list page (default 500) and changes per poll (default 1000; a full page is followed at once by the next). */
  listPageSize?: number;
  changesPageSize?: number;
  /** The longest wait between attempts while the store fails (default 10 s). */
  maxBackoffMs?: number;
}

/**
 * Follows resources of the registry's object store (ADR 0031, 0036): each resource listed (paged),
 * then the changes from the oldest listing's revision, pushed by the store's stream
 * (WatchObjectChanges) when it has one, else ObjectStore.changes polled. A stream that ends or
 * fails is opened again from the last revision (backoff while it keeps failing); a registry
 * that does not serve it (MethodNotAllowed) is polled instead. A Gone (410: the log no longer
 * reaches back) lists every followed resource again. Revisions are opaque decimal strings,
 * compared as BigInt only.
 *
 * Listing runs in one sequential tick with the stream closed (list what is pending, then open
 * the stream, or poll until a page is not full), so a listing is always delivered before the
 * changes after it, without locks. The set of followed resources may grow (`sync`) and shrink
 * (`drop`) while running; `wake` polls now (a no-op while the stream is open: it pushes).
 */
export class ObjectFollower {
  private readonly followed = new Set<string>();
  /** Followed resources to list at the next tick. */
  private readonly pending = new Set<string>();
  private cursor?: bigint;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private wakeAgain = false;
  private failures = 0;
  /** Gones in a row with no successful poll between: the second one waits like a failure. */
  private gones = 0;
  /** Push mode: the store has a stream and serves it. */
  private streaming: boolean;
  private stream?: Subscription;
  private streamToken?: object;
  /** The open stream delivered something (a clean end is then opened again at once). */
  private streamed = false;

  constructor(
    private readonly store: Pick<ObjectStore, 'list' | 'changes'> & Partial<ObjectChangeStream>,
    private readonly options: ObjectFollowerOptions,
  ) {
    this.streaming = options.stream !== false && typeof store.watchChanges === 'function';
  }

  /** True while changes are pushed (false: polled, the fallback). */
  get pushed(): boolean {
    return this.streaming;
  }

  /** The revision every followed change is delivered up to; undefined before the first listing (or with nothing followed). */
  get revision(): string | undefined {
    return this.cursor?.toString();
  }

  /** Follows these resources (if not yet) and lists them in full at the next tick, now. Ignored after stop. */
  sync(resources: Iterable<string>): void {
    if (this.stopped) return;
    for (const r of resources) {
      this.followed.add(r);
      this.pending.add(r);
    }
    this.wake();
  }

  /** Stops following these. With nothing left, the cursor is forgotten: the next `sync` starts afresh. */
  drop(resources: Iterable<string>): void {
    for (const r of resources) {
      this.followed.delete(r);
      this.pending.delete(r);
    }
    // The stream follows a fixed set: open it again without what was dropped.
    this.closeStream();
    if (this.followed.size > 0) {
      this.wake();
      return;
    }
    this.cursor = undefined;
    clearTimeout(this.timer);
  }

  /** Runs a tick now, or right after the one in flight. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.wakeAgain = true;
      return;
    }
    clearTimeout(this.timer);
    this.running = this.tick().finally(() => {
      this.running = undefined;
      const again = this.wakeAgain;
      this.wakeAgain = false;
      // An open stream needs no timer: it pushes, and its end opens it again.
      if (again || !this.streaming || !this.stream) this.schedule(again ? 0 : this.delay());
    });
  }

  /** Stops for good; resolves once a tick in flight has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.closeStream();
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped || this.followed.size === 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), ms);
    this.timer.unref();
  }

  /**
   * The poll interval, backing off while the store fails (or answers Gone again right after a
   * listing); in push mode, the wait before opening the stream again (none after a clean end).
   */
  private delay(): number {
    const base = this.streaming ? (this.options.reconnectMs ?? 100) : this.options.pollMs;
    if (this.failures === 0) return this.streaming ? 0 : base;
    return Math.min(this.options.maxBackoffMs ?? 10_000, Math.max(base, this.streaming ? 1 : 100) * 2 ** Math.min(this.failures, 16));
  }

  private async tick(): Promise<void> {
    if (this.followed.size === 0) return;
    try {
      if (this.streaming) {
        if (this.pending.size > 0) {
          // The listing and the changes after it stay in order: nothing is pushed while listing.
          this.closeStream();
          await this.listPending();
        }
        this.openStream();
        return;
      }
      await this.listPending();
      let full = true;
      while (full && !this.stopped) full = await this.pollOnce();
      this.failures = 0;
      this.gones = 0;
    } catch (error) {
      this.failed(error);
    }
  }

  /** A Gone lists everything again (at once the first time); anything else is counted and retried with backoff. */
  private failed(error: unknown): void {
    if (error instanceof FlotillaError && error.reason === ErrorReason.Gone) {
      this.cursor = undefined;
      for (const r of this.followed) this.pending.add(r);
      this.gones++;
      if (this.gones > 1) this.failures++;
      else this.wakeAgain = true;
      this.call(() => this.options.onGone?.(error));
      return;
    }
    this.failures++;
    this.call(() => this.options.onError?.(error, this.failures), false);
  }

  /** Opens the stream from the cursor, for every followed resource already listed; no-op when open. */
  private openStream(): void {
    if (this.stream || this.stopped || !this.store.watchChanges) return;
    const resources = [...this.followed].filter((r) => !this.pending.has(r));
    if (this.cursor === undefined || resources.length === 0) return;
    this.streamed = false;
    // The token tells this stream's end from that of one closed before it.
    const token = {};
    this.streamToken = token;
    const stream = this.store.watchChanges(this.cursor.toString(), { resources }).subscribe({
      next: (page) => this.onPushed(page),
      error: (error: unknown) => this.streamEnded(token, error),
      complete: () => this.streamEnded(token),
    });
    // An error raised while subscribing ended it already.
    if (this.streamToken === token) this.stream = stream;
  }

  private closeStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    this.streamToken = undefined;
    stream?.unsubscribe();
  }

  private onPushed(page: ObjectChangePage): void {
    if (this.stopped || this.cursor === undefined) return;
    this.streamed = true;
    this.failures = 0;
    this.gones = 0;
    const reached = BigInt(page.revision);
    if (reached <= this.cursor && page.changes.length === 0) return;
    if (reached > this.cursor) this.cursor = reached;
    const revision = this.cursor.toString();
    this.call(() => this.options.onChanges(page.changes, revision));
  }

  /** The stream ended: open it again from the cursor (at once after a clean end that delivered, else with backoff). */
  private streamEnded(token: object, error?: unknown): void {
    if (this.streamToken !== token) return;
    this.stream = undefined;
    this.streamToken = undefined;
    if (this.stopped) return;
    if (error instanceof FlotillaError && error.reason === ErrorReason.MethodNotAllowed) {
      // A registry from before the stream: poll it, now and from then on.
      this.streaming = false;
      this.wakeAgain = true;
      this.call(() => this.options.onError?.(error, 0), false);
    } else if (error !== undefined) {
      this.failed(error);
    } else if (!this.streamed) {
      this.failures++;
    }
    // A tick in flight schedules what follows when it ends.
    if (this.running) return;
    this.schedule(this.wakeAgain ? 0 : this.delay());
    this.wakeAgain = false;
  }

  /** Lists every pending resource and delivers them; on a failure they stay pending. */
  private async listPending(): Promise<void> {
    if (this.pending.size === 0) return;
    const wanted = [...this.pending];
    this.pending.clear();
    try {
      const listings = new Map<string, ObjectListing>();
      for (const resource of wanted) listings.set(resource, await this.listAll(resource));
      if (this.stopped || this.followed.size === 0) return;
      let oldest: bigint | undefined;
      for (const l of listings.values()) {
        const rv = BigInt(l.revision);
        if (oldest === undefined || rv < oldest) oldest = rv;
      }
      // The cursor starts (or goes back) to the oldest point any listing needs.
      if (oldest !== undefined && (this.cursor === undefined || oldest < this.cursor)) this.cursor = oldest;
      this.call(() => this.options.onSync(listings));
    } catch (error) {
      for (const r of wanted) if (this.followed.has(r)) this.pending.add(r);
      throw error;
    }
  }

  private async listAll(resource: string): Promise<ObjectListing> {
    const items: StoredObject[] = [];
    let revision: string | undefined;
    let next: string | undefined;
    do {
      const page = await this.store.list(resource, { limit: this.options.listPageSize ?? 500, ...(next ? { continue: next } : {}) });
      // The first page's revision is the list's: changes after it include whatever later pages miss.
      revision ??= page.revision;
      items.push(...page.items);
      next = page.continue || undefined;
    } while (next && !this.stopped);
    return { items, revision: revision || '0' };
  }

  /** One page of changes; true when the page was full (more are waiting). */
  private async pollOnce(): Promise<boolean> {
    // A resource still waiting for its listing is left out: the listing will hold its changes.
    const resources = [...this.followed].filter((r) => !this.pending.has(r));
    if (this.cursor === undefined || resources.length === 0) return false;
    const limit = this.options.changesPageSize ?? 1000;
    const page = await this.store.changes(this.cursor.toString(), { resources, limit });
    if (this.cursor === undefined) return false; // everything was dropped meanwhile
    const full = page.changes.length >= limit;
    // A full page ends at its last change; otherwise the store had nothing newer for these resources.
    const reached = full ? BigInt(page.changes[page.changes.length - 1]!.revision) : BigInt(page.revision || this.cursor.toString());
    if (reached > this.cursor) this.cursor = reached;
    const revision = this.cursor.toString();
    this.call(() => this.options.onChanges(page.changes, revision));
    return full;
  }

  /** A handler that throws is reported, never retried: the follow goes on past what it was given. */
  private call(handler: () => void, report = true): void {
    try {
      handler();
    } catch (error) {
      if (report) this.options.onError?.(error, this.failures);
    }
  }
}
