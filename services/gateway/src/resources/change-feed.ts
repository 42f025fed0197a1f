import { Inject, Injectable, OnModuleDestroy, Optional } from '@nestjs/common';
import { OBJECT_STORE, type ObjectChange, ObjectFollower, type ObjectListing, type ObjectStore, type StoredObject } from '@flotilla/clients';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import type { Logger } from '@flotilla/observability';
import { CONFIG, RUNTIME, ServiceRuntime } from '@flotilla/service-kit';

export type FeedEvent =
  | { type: 'SYNC'; items: StoredObject[]; revision: string } // full current set of the followed resources (first event, and again after a Gone)
  | { type: 'CHANGE'; change: ObjectChange };

export interface ChangeFeed {
  /** Delivers a SYNC, then every later change of these resources in revision order. Returns unsubscribe. */
  follow(resources: readonly string[], onEvent: (event: FeedEvent) => void): () => void;
  /** Resolves when this replica's feed has applied revision >= rv (a writer awaits it so its own replica sees the write at once). */
  caughtUp(revision: string): Promise<void>;
}

export const CHANGE_FEED = Symbol('gateway.change-feed');
/** Optional overrides of ChangeFeedOptions (tests); FLOTILLA_FEED_POLL_MS in the config sets pollMs. */
export const CHANGE_FEED_OPTIONS = Symbol('gateway.change-feed-options');

export interface ChangeFeedOptions {
  /** Polling interval, used only when the registry does not push changes (WatchObjectChanges, ADR 0036). */
  pollMs: number;
  /** Follow the registry's push stream (default true); false polls every pollMs. */
  stream: boolean;
  /** How long a writer waits for its replica at most; past it the write is answered anyway (it did happen). */
  caughtUpTimeoutMs: number;
  /** Changes asked for per poll; a full page is followed at once by the next. */
  pageSize: number;
}

const DEFAULTS: ChangeFeedOptions = { pollMs: 500, stream: true, caughtUpTimeoutMs: 5000, pageSize: 1000 };
const LIST_PAGE = 500;

interface Follower {
  resources: ReadonlySet<string>;
  onEvent: (event: FeedEvent) => void;
  /** Changes at or below this revision are already in the follower's SYNC; undefined while its SYNC is pending. */
  after?: bigint;
}

interface Waiter {
  revision: bigint;
  resolve: () => void;
  timer: NodeJS.Timeout;
}

/**
 * One follower of the object store per gateway replica (ObjectFollower: lists, then follows the
 * changes the registry pushes as they commit, WatchObjectChanges, polling ObjectStore.changes
 * only when the registry does not serve it; ADR 0031, 0036), fanned out to followers here.
 *
 * A new follower asks the ObjectFollower to list its resources; its SYNC carries the oldest of
 * those listings' revisions, and it gets only changes after it. The ObjectFollower delivers a
 * listing before the changes after it, so a follower's SYNC always precedes its changes without
 * locks. The first page of a list may be older than its last page; taking the first page's
 * revision means a follower may see a change it already has in its SYNC, never miss one
 * (followers apply changes idempotently).
 */
@Injectable()
export class ObjectChangeFeed implements ChangeFeed, OnModuleDestroy {
  private readonly options: ChangeFeedOptions;
  private readonly followers = new Set<Follower>();
  private readonly waiters = new Set<Waiter>();
  private readonly source: ObjectFollower;
  private started = false;
  private stopped = false;
  private readonly logger?: Logger;

  constructor(
    @Inject(OBJECT_STORE) store: ObjectStore,
    @Optional() @Inject(RUNTIME) runtime?: ServiceRuntime,
    @Optional() @Inject(CONFIG) config?: { FLOTILLA_FEED_POLL_MS?: number | string },
    @Optional() @Inject(CHANGE_FEED_OPTIONS) options?: Partial<ChangeFeedOptions>,
  ) {
    const fromConfig = config?.FLOTILLA_FEED_POLL_MS !== undefined ? { pollMs: Number(config.FLOTILLA_FEED_POLL_MS) } : {};
    this.options = { ...DEFAULTS, ...fromConfig, ...options };
    this.logger = runtime?.logger;
    this.source = new ObjectFollower(store, {
      pollMs: this.options.pollMs,
      stream: this.options.stream,
      listPageSize: LIST_PAGE,
      changesPageSize: this.options.pageSize,
      onSync: (listings) => this.syncFollowers(listings),
      onChanges: (changes) => this.fanOut(changes),
      onGone: () => {
        this.logger?.warn('change feed fell behind the retained change log: listing again');
        for (const f of this.followers) f.after = undefined;
      },
      onError: (error, failures) => {
        if (failures === 1 || failures % 20 === 0) {
          this.logger?.warn({ err: error instanceof Error ? error.message : String(error), failures }, 'following the object store failed; retrying');
        }
      },
    });
  }

  follow(resources: readonly string[], onEvent: (event: FeedEvent) => void): () => void {
    if (this.stopped) throw new FlotillaError(ErrorReason.ServiceUnavailable, 'the gateway is shutting down: watch again on another replica');
    if (resources.length === 0) throw new Error('ChangeFeed.follow needs at least one resource');
    const follower: Follower = { resources: new Set(resources), onEvent };
    this.followers.add(follower);
    this.started = true;
    this.source.sync(follower.resources);
    return () => this.remove(follower);
  }

  caughtUp(revision: string): Promise<void> {
    const wanted = BigInt(revision);
    // With nobody following, no state of this replica depends on the feed.
    if (!this.started || this.stopped || this.followers.size === 0) return Promise.resolve();
    if (this.reached(wanted)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const waiter: Waiter = {
        revision: wanted,
        resolve,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          this.logger?.warn({ revision, cursor: this.source.revision }, 'change feed did not reach a written revision in time; answering anyway');
          resolve();
        }, this.options.caughtUpTimeoutMs),
      };
      waiter.timer.unref();
      this.waiters.add(waiter);
      // The writer waits: poll now rather than at the next interval (a no-op while changes are pushed).
      this.source.wake();
    });
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await this.source.stop();
    this.releaseWaiters(true);
    this.followers.clear();
  }

  private reached(revision: bigint): boolean {
    const cursor = this.source.revision;
    return cursor !== undefined && BigInt(cursor) >= revision;
  }

  private remove(follower: Follower): void {
    if (!this.followers.delete(follower)) return;
    const still = new Set([...this.followers].flatMap((f) => [...f.resources]));
    this.source.drop([...follower.resources].filter((r) => !still.has(r)));
    // Nobody listens: the next follower lists afresh, and no writer has anything to wait for.
    if (this.followers.size === 0) this.releaseWaiters(true);
  }

  /** Delivers the SYNC of every follower still waiting for one whose resources were all listed. */
  private syncFollowers(listings: ReadonlyMap<string, ObjectListing>): void {
    for (const f of [...this.followers]) {
      if (f.after !== undefined) continue;
      const parts = [...f.resources].map((r) => listings.get(r));
      // Some of its resources are listed at the next tick (it joined during this one).
      if (parts.some((p) => p === undefined)) continue;
      const revision = parts.reduce((min, p) => (BigInt(p!.revision) < min ? BigInt(p!.revision) : min), BigInt(parts[0]!.revision));
      f.after = revision;
      this.deliver(f, { type: 'SYNC', items: parts.flatMap((p) => p!.items), revision: revision.toString() });
    }
  }

  private fanOut(changes: readonly ObjectChange[]): void {
    for (const change of changes) {
      const revision = BigInt(change.revision);
      for (const f of [...this.followers]) {
        if (f.after === undefined || revision <= f.after || !f.resources.has(change.object.resource)) continue;
        f.after = revision;
        this.deliver(f, { type: 'CHANGE', change });
      }
    }
    this.releaseWaiters();
  }

  private releaseWaiters(all = false): void {
    for (const w of this.waiters) {
      if (all || this.reached(w.revision)) {
        clearTimeout(w.timer);
        this.waiters.delete(w);
        w.resolve();
      }
    }
  }

  /** A follower that throws is dropped, so one broken consumer cannot stall the others. */
  private deliver(f: Follower, event: FeedEvent): void {
    try {
      f.onEvent(event);
    } catch (error) {
      this.remove(f);
      this.logger?.error({ err: error instanceof Error ? error.message : String(error) }, 'change feed follower failed; it is no longer fed');
    }
  }
}
