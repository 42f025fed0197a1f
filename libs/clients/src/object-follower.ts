import { ErrorReason, FlotillaError } from '@flotilla/domain';
import type { ObjectChange, ObjectStore, StoredObject } from './object-store';

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
  /** The interval between polls when nothing is waiting. */
  pollMs: number;
  /** Objects per list page (default 500) and changes per poll (default 1000; a full page is followed at once by the next). */
  listPageSize?: number;
  changesPageSize?: number;
  /** The longest wait between attempts while the store fails (default 10 s). */
  maxBackoffMs?: number;
}

/**
 * Follows resources of the registry's object store (ADR 0031): each resource listed (paged), then
 * ObjectStore.changes polled from the oldest listing's revision. A Gone (410: the log no longer
 * reaches back) lists every followed resource again. Revisions are opaque decimal strings,
 * compared as BigInt only.
 *
 * Everything runs in one sequential tick (list what is pending, then poll until a page is not
 * full), so a listing is always delivered before the changes after it, without locks. The set of
 * followed resources may grow (`sync`) and shrink (`drop`) while running; `wake` polls now.
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

  constructor(
    private readonly store: Pick<ObjectStore, 'list' | 'changes'>,
    private readonly options: ObjectFollowerOptions,
  ) {}

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
    if (this.followed.size > 0) return;
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
      this.schedule(again ? 0 : this.delay());
    });
  }

  /** Stops for good; resolves once a tick in flight has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped || this.followed.size === 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), ms);
    this.timer.unref();
  }

  /** The poll interval, backing off while the store fails (or answers Gone again right after a listing). */
  private delay(): number {
    const { pollMs } = this.options;
    if (this.failures === 0) return pollMs;
    return Math.min(this.options.maxBackoffMs ?? 10_000, Math.max(pollMs, 100) * 2 ** Math.min(this.failures, 16));
  }

  private async tick(): Promise<void> {
    if (this.followed.size === 0) return;
    try {
      await this.listPending();
      let full = true;
      while (full && !this.stopped) full = await this.pollOnce();
      this.failures = 0;
      this.gones = 0;
    } catch (error) {
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
