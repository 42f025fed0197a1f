import { Inject, Injectable, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { Observable, Subscriber, concatMap } from 'rxjs';
import {
  CLUSTER_API_VERSION,
  CLUSTER_KIND,
  Cluster,
  ClusterErrors,
  ErrorReason,
  FieldRequirement,
  FlotillaError,
  LabelRequirement,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
} from '@flotilla/domain';
import { RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import { ChangeListener, NotifyChannel } from '../infrastructure/change-listener';
import { ImportJobFeed, jobClusterOf, jobSignalObject } from './import-job-feed';
import { PruneScheduler } from '../infrastructure/prune-scheduler';
import { CHANGE_LISTENER } from '../infrastructure/tokens';
import { LastProbeTimes } from '../probe-times/last-probe-times';
import { ClusterChange, ClusterChangesRepository } from './store/cluster-changes.repository';
import { ClustersRepository } from './store/clusters.repository';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'IMPORT_JOB';

export interface ClusterWatchEvent {
  type: WatchEventType;
  object: Cluster;
  /** IMPORT_JOB: the job that changed ('' = read the jobs now); object carries the cluster name and the job's version. */
  importJob?: string;
}

/** Inside the service: the first listing arrives with probe times already attached, page by page. */
interface FollowEvent extends ClusterWatchEvent {
  attached?: boolean;
}

export interface WatchOptions {
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  allowBookmarks?: boolean;
  /** Also signal changes of the watched cluster's import jobs (needs fieldSelector metadata.name=<cluster>). */
  importJobChanges?: boolean;
  /**
   * Backpressure: resolves when the consumer has room. The first listing and catch-ups from the
   * database wait on it between pages, so a 12,000-cluster listing never piles up unsent.
   */
  ready?: () => Promise<void>;
}

export const WATCH_TUNING = Symbol('registry.watch-tuning');
export interface WatchTuning {
  pollMs: number;
  bookmarkMs: number;
  ringSize: number;
  /** How long the change log keeps changes a watch can resume from (at least the newest 1000 stay). */
  retentionSeconds: number;
}

const KEEP_AT_LEAST = 1000;

const BATCH = 500;
const SERVER_RV = /^[0-9]{1,19}$/;

interface Watcher {
  position: bigint;
  labels: LabelRequirement[];
  fields: FieldRequirement[];
  out: Subscriber<FollowEvent>;
  catchingUp: boolean;
  bookmarks?: NodeJS.Timeout;
  ready?: () => Promise<void>;
  stopJobs?: () => void;
}

/**
 * Fans committed changes out to watchers. One reader follows the change log (woken by
 * LISTEN/NOTIFY, with a poll as a safety net) into a ring of recent changes; a watcher that
 * resumes from further back catches up from the database first. A resourceVersion older than
 * the retained log gets Expired (410), as the Kubernetes API server answers.
 */
@Injectable()
export class ClusterWatchService implements OnModuleInit, OnApplicationBootstrap {
  private head = 0n;
  private ring: ClusterChange[] = [];
  private readonly watchers = new Set<Watcher>();
  private pumping?: Promise<void>;
  private pumpAgain = false;
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly changes: ClusterChangesRepository,
    private readonly clusters: ClustersRepository,
    private readonly probeTimes: LastProbeTimes,
    private readonly prune: PruneScheduler,
    private readonly jobs: ImportJobFeed,
    @Inject(CHANGE_LISTENER) private readonly listener: ChangeListener,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(WATCH_TUNING) private readonly tuning: WatchTuning,
  ) {
    runtime.shutdown.onDrain('cluster-watchers', async () => this.closeAll());
  }

  onModuleInit(): void {
    this.prune.register('cluster-changes', () => this.changes.prune(this.tuning.retentionSeconds, KEEP_AT_LEAST));
  }

  async onApplicationBootstrap(): Promise<void> {
    const watchers = this.watchers;
    new Gauge({
      name: 'flotilla_registry_watchers',
      help: 'Open WatchClusters streams on this registry replica',
      registers: [this.runtime.metrics.registry],
      collect() {
        this.set(watchers.size);
      },
    });
    this.head = BigInt(await this.changes.currentResourceVersion());
    this.listener.on(NotifyChannel.clusterChanges, () => this.pump());
    this.timer = setInterval(() => this.pump(), this.tuning.pollMs);
    this.timer.unref();
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /**
   * Committed changes matching the options, in order. Each event's object carries its cluster's
   * last probe time (bookmarks and deletions have none).
   */
  watch(options: WatchOptions): Observable<ClusterWatchEvent> {
    return this.follow(options).pipe(
      concatMap(async ({ attached, ...e }) =>
        attached || e.type === 'BOOKMARK' || e.type === 'DELETED' || e.type === 'IMPORT_JOB' ? e : { type: e.type, object: (await this.probeTimes.attach([e.object]))[0]! },
      ),
    );
  }

  private follow(options: WatchOptions): Observable<FollowEvent> {
    return new Observable<FollowEvent>((out) => {
      let watcher: Watcher | undefined;
      let cancelled = false;
      this.open(options, out)
        .then((w) => {
          if (cancelled) return this.drop(w);
          watcher = w;
        })
        .catch((error: unknown) => out.error(error));
      return () => {
        cancelled = true;
        if (watcher) this.drop(watcher);
      };
    });
  }

  private async open(options: WatchOptions, out: Subscriber<FollowEvent>): Promise<Watcher> {
    if (this.closed) throw new FlotillaError(ErrorReason.ServiceUnavailable, 'the registry is shutting down; reconnect to another replica');
    const labels = parseLabelSelector(options.labelSelector);
    const fields = parseFieldSelector(options.fieldSelector, ['metadata.name']);
    const jobsOf = options.importJobChanges ? jobClusterOf(fields) : undefined;
    const rv = options.resourceVersion ?? '';
    let position: bigint;
    if (rv === '' || rv === '0') {
      // Start with the current state as ADDED events, then follow from that point. Page by page,
      // each waiting for the consumer's room: the fleet is never held or queued whole.
      position = BigInt(await this.changes.currentResourceVersion());
      let after: string | undefined;
      for (;;) {
        await options.ready?.();
        if (out.closed) break;
        const page = await this.clusters.list({ labels, fields, limit: BATCH, afterName: after });
        for (const cluster of await this.probeTimes.attach(page.items)) out.next({ type: 'ADDED', object: cluster, attached: true });
        if (!page.hasMore || page.items.length === 0) break;
        after = page.items[page.items.length - 1]!.metadata.name;
      }
    } else {
      if (!SERVER_RV.test(rv)) {
        throw new FlotillaError(ErrorReason.BadRequest, `invalid resourceVersion "${rv}": pass a metadata.resourceVersion this server returned`, {
          causes: [{ reason: 'FieldValueInvalid', field: 'resourceVersion', message: 'not issued by this server' }],
        });
      }
      position = BigInt(rv);
      const oldest = await this.changes.oldestResumableVersion();
      const floor = oldest !== undefined ? BigInt(oldest) : this.head;
      if (position < floor) throw ClusterErrors.watchExpired(rv);
      await this.pumpNow();
      if (position > this.head) {
        throw new FlotillaError(ErrorReason.Timeout, `Too large resource version: ${rv}, current: ${this.head}`, { retryAfterSeconds: 1 });
      }
    }
    const watcher: Watcher = { position, labels, fields, out, catchingUp: false, ready: options.ready };
    if (jobsOf !== undefined) {
      watcher.stopJobs = await this.jobs.follow(jobsOf, (s) => out.next({ type: 'IMPORT_JOB', object: jobSignalObject(s.clusterName, s.resourceVersion), importJob: s.jobName }));
    }
    if (options.allowBookmarks) {
      watcher.bookmarks = setInterval(() => this.bookmark(watcher), this.tuning.bookmarkMs);
      watcher.bookmarks.unref();
    }
    this.watchers.add(watcher);
    void this.deliver(watcher);
    return watcher;
  }

  private bookmark(w: Watcher): void {
    if (w.catchingUp) return;
    w.out.next({
      type: 'BOOKMARK',
      object: { apiVersion: CLUSTER_API_VERSION, kind: CLUSTER_KIND, metadata: { name: '', resourceVersion: w.position.toString() }, spec: { connection: { type: '' } } },
    });
  }

  private drop(w: Watcher): void {
    clearInterval(w.bookmarks);
    w.stopJobs?.();
    this.watchers.delete(w);
  }

  private matches(w: Watcher, change: ClusterChange): boolean {
    if (!matchesLabels(w.labels, change.object.metadata.labels)) return false;
    return w.fields.every((f) => (f.operator === 'In' ? change.name === f.value : change.name !== f.value));
  }

  private emit(w: Watcher, change: ClusterChange): void {
    w.position = BigInt(change.resourceVersion);
    if (this.matches(w, change)) w.out.next({ type: change.type, object: change.object });
  }

  /** Sends a watcher what it has not seen: from the ring when it is close, else from the database. */
  private async deliver(w: Watcher): Promise<void> {
    if (w.catchingUp || !this.watchers.has(w)) return;
    const ringStart = this.ring.length > 0 ? BigInt(this.ring[0]!.resourceVersion) : this.head + 1n;
    if (w.position + 1n < ringStart && w.position < this.head) {
      w.catchingUp = true;
      try {
        while (this.watchers.has(w)) {
          await w.ready?.();
          const rows = await this.changes.changesAfter(w.position.toString(), BATCH);
          for (const row of rows) this.emit(w, row);
          if (rows.length < BATCH) break;
        }
      } catch (error) {
        this.drop(w);
        w.out.error(error);
        return;
      } finally {
        w.catchingUp = false;
      }
    }
    for (const change of this.ring) if (BigInt(change.resourceVersion) > w.position) this.emit(w, change);
  }

  private pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = this.pumpNow()
      .catch((error: unknown) => this.runtime.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'watch pump failed'))
      .finally(() => {
        this.pumping = undefined;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.pump();
        }
      });
  }

  private async pumpNow(): Promise<void> {
    for (;;) {
      const rows = await this.changes.changesAfter(this.head.toString(), BATCH);
      for (const row of rows) {
        const rv = BigInt(row.resourceVersion);
        if (rv <= this.head) continue;
        this.head = rv;
        this.ring.push(row);
      }
      if (this.ring.length > this.tuning.ringSize) this.ring = this.ring.slice(this.ring.length - this.tuning.ringSize);
      for (const w of this.watchers) void this.deliver(w);
      if (rows.length < BATCH) return;
    }
  }

  private closeAll(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const w of [...this.watchers]) {
      this.drop(w);
      w.out.complete();
    }
  }
}
