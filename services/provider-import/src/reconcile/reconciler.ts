import { JOBS, JobName } from '@flotilla/queue';
import type { GaveUpJob, JobQueue } from '@flotilla/queue';
import type { ImportJobsClient } from '@flotilla/clients';
import type { Logger } from '@flotilla/observability';
import type { ClusterRecords } from '../import/cluster-records';
import { recordGaveUp } from './job-outcome';
import { stuckJob } from './stuck-clusters';

export interface ReconcileDeps {
  records: Pick<ClusterRecords, 'all' | 'find' | 'setStatus'>;
  reports: Pick<ImportJobsClient, 'list' | 'report'>;
  queue: Pick<JobQueue, 'state' | 'enqueue'>;
  logger: Pick<Logger, 'warn' | 'info'>;
  /** FLOTILLA_STUCK_IMPORT_SECONDS. */
  boundSeconds: number;
  now?: () => number;
}

export interface SweepResult {
  requeued: string[];
  recorded: string[];
}

/**
 * Finds clusters stuck in import or removal (after a lost job, a stalled job or a crash) and puts
 * them right, by what BullMQ holds for their job:
 * - nothing (Redis lost it, or the outbox row never reached it): queued again, same job id;
 * - failed (stalled too often, or the handler's report of the outcome failed): the outcome is
 *   recorded on the cluster (recordGaveUp);
 * - waiting, delayed, active: in progress (BullMQ itself retries and detects stalls): left alone;
 * - completed while the cluster still looks pending: logged (nothing safe to do twice).
 */
export class StuckClusterReconciler {
  constructor(private readonly deps: ReconcileDeps) {}

  async sweep(): Promise<SweepResult> {
    const result: SweepResult = { requeued: [], recorded: [] };
    const now = (this.deps.now ?? Date.now)();
    for await (const cluster of this.deps.records.all()) {
      const stuck = stuckJob(cluster, now, this.deps.boundSeconds);
      if (!stuck) continue;
      const definition = JOBS[stuck.job];
      const jobId = definition.idempotencyKey(stuck.payload);
      const { state, failedReason } = await this.deps.queue.state(definition, jobId);
      if (state === 'missing') {
        await this.deps.queue.enqueue(definition, stuck.payload);
        result.requeued.push(stuck.payload.name);
        this.deps.logger.warn({ cluster: stuck.payload.name, job: stuck.job, waitedSeconds: Math.round(stuck.waitedSeconds) }, 'stuck cluster: its job was lost; queued again');
      } else if (state === 'failed') {
        if (await recordGaveUp(this.deps, stuck.job, stuck.payload, failedReason ?? 'failed')) result.recorded.push(stuck.payload.name);
      } else if (state === 'completed') {
        this.deps.logger.warn({ cluster: stuck.payload.name, job: stuck.job }, 'stuck cluster: its job completed without recording an outcome');
      }
    }
    return result;
  }

  /** For WorkerHost.onGaveUp: records the outcome the moment BullMQ gives up. */
  async gaveUp(job: GaveUpJob): Promise<void> {
    const data = job.data as { name?: unknown; uid?: unknown } | undefined;
    if (typeof data?.name !== 'string' || typeof data.uid !== 'string') return;
    if (job.jobName !== JobName.ClusterImport && job.jobName !== JobName.ClusterRemove) return;
    await recordGaveUp(this.deps, job.jobName, { name: data.name, uid: data.uid }, job.reason);
  }
}
