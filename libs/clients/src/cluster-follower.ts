import type { Subscription } from 'rxjs';
import { type Cluster, ErrorReason, FlotillaError } from '@flotilla/domain';
import type { RegistryClient } from './registry-client';

/** What a follower asks of the registry (RegistryClient, or a stand-in in tests). */
export type ClusterFollowerRegistry = Pick<RegistryClient, 'listClusters' | 'watchClusters'>;

/** One applied change: `before` undefined for a new cluster, `after` undefined for a removed one. */
export interface ClusterFollowerChange {
  name: string;
  before: Cluster | undefined;
  after: Cluster | undefined;
}

export interface ClusterFollowerOptions {
  /**
   * Every batch of applied changes, after the follower's map holds them: a (re-)list's differences
   * (clusters gone, new or at another resourceVersion), or one watch event. A throw is reported to
   * onError and does not stop the follow.
   */
  onChanges?: (changes: readonly ClusterFollowerChange[]) => void;
  /** A failed list or watch (resumed after a backoff), or a throwing onChanges. */
  onError?: (error: unknown) => void;
  /** Clusters per ListClusters page (default 500). */
  pageSize?: number;
  /** The backoff after failures: base * 2^failures, at most max (defaults 100 ms and 5 s). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

/**
 * The fleet as the registry knows it, in this process's memory: ListClusters (paged), then
 * WatchClusters from the list's resourceVersion, as a Kubernetes informer does.
 *
 * - A watch that fails or ends is resumed from the last resourceVersion seen (events and
 *   bookmarks), so a registry restart costs no re-list.
 * - A 410 Expired (Gone: the registry's change log no longer reaches back) re-lists; clusters
 *   missing from the new list are reported as removed.
 * - Nothing assumes the watch restarts by itself; failures back off, and any event resets it.
 * - resourceVersions are opaque strings, compared for equality only.
 */
export class ClusterFollower {
  private readonly map = new Map<string, Cluster>();
  private sub?: Subscription;
  private timer?: NodeJS.Timeout;
  private stopped = true;
  /** Bumped by start and stop: a list still in flight from an earlier run drops its answer. */
  private run = 0;
  private failures = 0;
  private resourceVersion = '';
  private syncedOnce!: () => void;
  private everSynced = false;
  /** Resolves once the first list has been applied. */
  readonly synced: Promise<void> = new Promise((resolve) => (this.syncedOnce = resolve));

  constructor(
    private readonly registry: ClusterFollowerRegistry,
    private readonly options: ClusterFollowerOptions = {},
  ) {}

  /** The clusters as last applied, by name (read-only: the follower owns it). */
  get clusters(): ReadonlyMap<string, Cluster> {
    return this.map;
  }

  /** True once the first list has been applied. */
  get isSynced(): boolean {
    return this.everSynced;
  }

  /** The version the follower has seen everything up to ('' before the first list). */
  get version(): string {
    return this.resourceVersion;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.run++;
    void this.relist();
  }

  stop(): void {
    this.stopped = true;
    this.run++;
    if (this.timer) clearTimeout(this.timer);
    this.sub?.unsubscribe();
    this.sub = undefined;
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    const run = this.run;
    this.sub?.unsubscribe();
    this.sub = undefined;
    try {
      const seen = new Map<string, Cluster>();
      let next: string | undefined;
      let resourceVersion = '';
      do {
        const page = await this.registry.listClusters({ limit: this.options.pageSize ?? 500, ...(next ? { continue: next } : {}) });
        if (run !== this.run) return;
        for (const c of page.items) seen.set(c.metadata.name, c);
        // The first page's version is the list's: watching from it misses nothing of later pages.
        if (!resourceVersion) resourceVersion = page.metadata.resourceVersion;
        next = page.metadata.continue || undefined;
      } while (next);
      const changes: ClusterFollowerChange[] = [];
      for (const [name, before] of this.map) if (!seen.has(name)) changes.push(this.set(name, before, undefined));
      for (const [name, after] of seen) {
        const before = this.map.get(name);
        // The same resourceVersion is the same object: nothing to tell.
        if (before?.metadata.resourceVersion && before.metadata.resourceVersion === after.metadata.resourceVersion) continue;
        changes.push(this.set(name, before, after));
      }
      this.resourceVersion = resourceVersion;
      this.failures = 0;
      this.everSynced = true;
      this.tell(changes);
      this.syncedOnce();
      this.watch();
    } catch (error) {
      if (run === this.run) this.retry(error, true);
    }
  }

  private watch(): void {
    if (this.stopped) return;
    this.sub = this.registry.watchClusters({ resourceVersion: this.resourceVersion, allowBookmarks: true }).subscribe({
      next: (e) => {
        this.failures = 0;
        if (e.type === 'BOOKMARK') {
          if (e.resourceVersion) this.resourceVersion = e.resourceVersion;
          return;
        }
        const name = e.object.metadata.name;
        if (e.object.metadata.resourceVersion) this.resourceVersion = e.object.metadata.resourceVersion;
        const before = this.map.get(name);
        const after = e.type === 'DELETED' ? undefined : e.object;
        if (!before && !after) return;
        this.tell([this.set(name, before, after)]);
      },
      error: (error: unknown) => this.retry(error, error instanceof FlotillaError && error.reason === ErrorReason.Gone),
      // The registry ended the stream (restart, drain): resume from where this follower is.
      complete: () => this.retry(undefined, false),
    });
  }

  private set(name: string, before: Cluster | undefined, after: Cluster | undefined): ClusterFollowerChange {
    if (after) this.map.set(name, after);
    else this.map.delete(name);
    return { name, before, after };
  }

  private tell(changes: ClusterFollowerChange[]): void {
    if (changes.length === 0 || !this.options.onChanges) return;
    try {
      this.options.onChanges(changes);
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  private retry(error: unknown, relist: boolean): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    if (this.stopped) return;
    if (error !== undefined) this.options.onError?.(error);
    this.failures++;
    // The first resume after a clean end is immediate; failures back off.
    const base = this.options.backoffBaseMs ?? 100;
    const max = this.options.backoffMaxMs ?? 5000;
    const backoff = error === undefined && this.failures === 1 ? 0 : Math.min(max, base * 2 ** Math.min(this.failures, 16));
    // A registry that asks for a wait (TooManyRequests, Retry-After) gets at least that.
    const delay = Math.max(backoff, error instanceof FlotillaError && error.reason === ErrorReason.TooManyRequests ? FlotillaError.retryAfterMs(error, 0) : 0);
    this.timer = setTimeout(() => (relist || !this.resourceVersion ? void this.relist() : this.watch()), delay);
    this.timer.unref();
  }
}
