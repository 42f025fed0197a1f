import { Inject, Injectable } from '@nestjs/common';
import { CLUSTER_API_VERSION, CLUSTER_KIND, Cluster, ErrorReason, FieldRequirement, FlotillaError } from '@flotilla/domain';
import { RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import { ChangeListener, NotifyChannel } from '../infrastructure/change-listener';
import { CHANGE_LISTENER } from '../infrastructure/tokens';
import { ImportJobVersion, ImportJobVersionsRepository } from './store/import-job-versions.repository';

export const IMPORT_JOB_FEED_TUNING = Symbol('registry.import-job-feed-tuning');
export interface ImportJobFeedTuning {
  /** Safety-net re-read of the followed clusters' job versions (a lost notification only delays). */
  pollMs: number;
}

/** A job of a followed cluster changed; `jobName` empty means "read the jobs now" (the start of a follow). */
export interface ImportJobSignal {
  clusterName: string;
  jobName: string;
  resourceVersion: string;
}

type Listener = (signal: ImportJobSignal) => void;

/** The cluster whose jobs a watch follows: it must name exactly one (metadata.name=<cluster>). */
export function jobClusterOf(fields: FieldRequirement[]): string {
  const named = fields.filter((f) => f.operator === 'In');
  if (named.length !== 1) {
    throw new FlotillaError(ErrorReason.BadRequest, 'import_job_changes needs fieldSelector metadata.name=<cluster>: job changes are followed one cluster at a time', {
      causes: [{ reason: 'FieldValueRequired', field: 'fieldSelector', message: 'metadata.name=<cluster> is required with import_job_changes' }],
    });
  }
  return named[0]!.value;
}

/** The object of an IMPORT_JOB watch event: the cluster's name and the job's version, nothing else. */
export const jobSignalObject = (cluster: string, rv: string): Cluster => ({
  apiVersion: CLUSTER_API_VERSION,
  kind: CLUSTER_KIND,
  metadata: { name: cluster, resourceVersion: rv },
  spec: { connection: { type: '' } },
});

/**
 * Tells the clusters watch which import jobs of the followed clusters changed, so the gateway's
 * job streams read the jobs once per change instead of every 250 ms (issue 13). One reader per
 * registry replica, whatever the number of streams: woken by NOTIFY on NotifyChannel.importJobs, and
 * a timer as a safety net. It compares job versions with the last ones read, so a notification
 * lost in a reconnect is found by the next read. Runs only while someone follows.
 */
@Injectable()
export class ImportJobFeed {
  private readonly followers = new Map<string, Set<Listener>>();
  private readonly seen = new Map<string, Map<string, string>>();
  private unlisten?: () => void;
  private timer?: NodeJS.Timeout;
  private reading?: Promise<void>;
  private readAgain = new Set<string>();
  private closed = false;

  constructor(
    private readonly versions: ImportJobVersionsRepository,
    @Inject(CHANGE_LISTENER) private readonly changes: ChangeListener,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(IMPORT_JOB_FEED_TUNING) private readonly tuning: ImportJobFeedTuning,
  ) {
    runtime.shutdown.onDrain('import-job-feed', async () => this.close());
  }

  /**
   * Follows the jobs of one cluster. Once the current versions are read, the listener hears one
   * signal with an empty jobName (read now: nothing before it is missed), then one per change.
   */
  async follow(clusterName: string, listener: Listener): Promise<() => void> {
    let set = this.followers.get(clusterName);
    if (!set) this.followers.set(clusterName, (set = new Set()));
    set.add(listener);
    const stop = () => {
      const current = this.followers.get(clusterName);
      current?.delete(listener);
      if (current && current.size === 0) {
        this.followers.delete(clusterName);
        this.seen.delete(clusterName);
      }
      if (this.followers.size === 0) this.idle();
    };
    try {
      this.run();
      if (!this.seen.has(clusterName)) await this.readNow([clusterName]);
    } catch (error) {
      stop();
      throw error;
    }
    listener({ clusterName, jobName: '', resourceVersion: '' });
    return stop;
  }

  get followedClusters(): number {
    return this.followers.size;
  }

  private run(): void {
    if (this.closed) return;
    if (!this.timer) {
      this.timer = setInterval(() => this.read(), this.tuning.pollMs);
      this.timer.unref();
    }
    // The registry's one LISTEN connection (it reconnects by itself; the timer covers the gap).
    this.unlisten ??= this.changes.on(NotifyChannel.importJobs, (cluster) => this.read(cluster ? [cluster] : undefined));
  }

  /** Reads the given clusters' job versions (all followed ones when unset), one read at a time. */
  private read(names?: string[]): void {
    for (const n of names ?? this.followers.keys()) if (this.followers.has(n)) this.readAgain.add(n);
    if (this.reading || this.readAgain.size === 0) return;
    const batch = [...this.readAgain];
    this.readAgain.clear();
    this.reading = this.readNow(batch)
      .catch((error: unknown) => this.runtime.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'import job feed read failed'))
      .finally(() => {
        this.reading = undefined;
        if (this.readAgain.size > 0) this.read([]);
      });
  }

  private async readNow(names: string[]): Promise<void> {
    const rows = await this.versions.versionsOf(names);
    const byCluster = new Map<string, ImportJobVersion[]>();
    for (const r of rows) byCluster.set(r.clusterName, [...(byCluster.get(r.clusterName) ?? []), r]);
    for (const name of names) {
      const listeners = this.followers.get(name);
      if (!listeners) continue;
      const before = this.seen.get(name);
      const now = new Map((byCluster.get(name) ?? []).map((r) => [r.jobName, r.resourceVersion]));
      this.seen.set(name, now);
      // The first read is the baseline: its listener is told to read by follow().
      if (!before) continue;
      for (const [job, rv] of now) {
        if (before.get(job) === rv) continue;
        for (const l of [...listeners]) l({ clusterName: name, jobName: job, resourceVersion: rv });
      }
    }
  }

  private idle(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unlisten?.();
    this.unlisten = undefined;
  }

  private close(): void {
    this.closed = true;
    this.followers.clear();
    this.idle();
  }
}
