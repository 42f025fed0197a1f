import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { Counter } from 'prom-client';
import { IMPORT_JOBS_CLIENT, ImportJobsClient } from '@flotilla/clients';
import { JobQueue, WorkerHost } from '@flotilla/queue';
import { CONFIG, REDIS, RUNTIME, ServiceRuntime, WORKER_HOST } from '@flotilla/service-kit';
import type { ProviderImportConfig } from '../config';
import { ClusterRecords } from '../import/cluster-records';
import { StuckClusterReconciler } from './reconciler';

/** FLOTILLA_STUCK_IMPORT_SECONDS when the configuration does not set it. */
export const DEFAULT_STUCK_SECONDS = 300;

/**
 * Runs the stuck-cluster reconciler in provider-import: a sweep every bound/4 (at most a minute
 * apart), and the outcome of every job BullMQ gives up on, recorded at once. Every replica sweeps:
 * the passes are idempotent (a re-queued job has its fixed id; recorded outcomes are checked first).
 */
@Injectable()
export class ReconcilerService implements OnApplicationBootstrap {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly reconciler: StuckClusterReconciler;
  private readonly queue: JobQueue;
  private readonly fixed: Counter<'action'>;
  private readonly everyMs: number;

  constructor(
    records: ClusterRecords,
    @Inject(IMPORT_JOBS_CLIENT) reports: ImportJobsClient,
    @Inject(REDIS) redis: Redis,
    @Inject(WORKER_HOST) private readonly host: WorkerHost,
    @Inject(CONFIG) config: ProviderImportConfig,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
  ) {
    this.queue = new JobQueue(redis, config.FLOTILLA_QUEUE_PREFIX);
    const boundSeconds = (config as { FLOTILLA_STUCK_IMPORT_SECONDS?: number }).FLOTILLA_STUCK_IMPORT_SECONDS ?? DEFAULT_STUCK_SECONDS;
    this.reconciler = new StuckClusterReconciler({ records, reports, queue: this.queue, logger: runtime.logger, boundSeconds });
    this.fixed = new Counter({
      name: 'flotilla_stuck_clusters_fixed_total',
      help: 'Clusters stuck in import or removal that the reconciler re-queued (requeued) or recorded a failed job on (recorded)',
      labelNames: ['action'],
      registers: [runtime.metrics.registry],
    });
    const everyMs = Math.min(60_000, Math.max(5_000, (boundSeconds * 1000) / 4));
    runtime.shutdown.onDrain('stuck-reconciler', async () => {
      clearInterval(this.timer);
      await this.running;
      await this.queue.close();
    });
    this.everyMs = everyMs;
  }

  onApplicationBootstrap(): void {
    this.host.onGaveUp((job) => this.reconciler.gaveUp(job).catch((error: unknown) => this.warn(error, 'recording a failed job on its cluster failed')));
    this.timer = setInterval(() => void this.sweep(), this.everyMs);
    this.timer.unref();
  }

  private sweep(): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
      try {
        const { requeued, recorded } = await this.reconciler.sweep();
        this.fixed.inc({ action: 'requeued' }, requeued.length);
        this.fixed.inc({ action: 'recorded' }, recorded.length);
      } catch (error) {
        // Registry or Redis down: the next sweep tries again.
        this.warn(error, 'stuck-cluster sweep failed');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private warn(error: unknown, msg: string): void {
    this.runtime.logger.warn({ err: error instanceof Error ? error.message : String(error) }, msg);
  }
}
