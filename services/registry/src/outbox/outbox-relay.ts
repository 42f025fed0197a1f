import { JOBS, JobName } from '@flotilla/queue';
import type { JobQueue } from '@flotilla/queue';
import type { OutboxRepository, PendingJob } from './outbox.repository';

/** Rows per relay or verify page. */
export const OUTBOX_BATCH = 100;

/**
 * How far back the verify pass looks for relayed jobs Redis lost (seconds). Completed jobs stay
 * in Redis for COMPLETED_RETENTION_SECONDS (24 h, libs/queue), far longer, so a job missing from
 * Redis inside this window was lost (Redis restarted without persistence, or flushed), not
 * cleaned up; and the outbox keeps relayed rows for 24 h.
 */
export const OUTBOX_VERIFY_WINDOW_SECONDS = 6 * 3600;

export interface RelayPassResult {
  relayed: number;
  failed: number;
}

/**
 * The outbox relay's two passes, with no Nest and no timers (OutboxRelayService runs them).
 * Neither holds a Postgres transaction while it talks to Redis: rows are read, the jobs are
 * enqueued, then each row is marked, one statement at a time. Enqueueing is idempotent (BullMQ
 * job id = the row's idempotency key), so a crash between enqueue and mark, or two replicas
 * relaying the same row, adds the job once.
 */
export class OutboxRelay {
  constructor(
    private readonly outbox: Pick<OutboxRepository, 'pending' | 'markDispatched' | 'markFailed' | 'dispatchedWithin' | 'markResent'>,
    private readonly queue: Pick<JobQueue, 'enqueue' | 'missing'>,
    private readonly stopped: () => boolean = () => false,
  ) {}

  /** Relays pending rows until none is left or one fails (Redis down: the next tick tries again). */
  async relay(): Promise<RelayPassResult> {
    const result: RelayPassResult = { relayed: 0, failed: 0 };
    for (;;) {
      const jobs = await this.outbox.pending(OUTBOX_BATCH);
      for (const job of jobs) {
        if (this.stopped()) return result;
        const definition = JOBS[job.jobName as JobName];
        if (!definition) {
          await this.outbox.markFailed(job.id, `unknown job ${job.jobName}`);
          result.failed++;
          continue;
        }
        try {
          await this.queue.enqueue(definition, job.payload);
        } catch (error) {
          await this.outbox.markFailed(job.id, error instanceof Error ? error.message : String(error));
          result.failed++;
          // Redis is likely down: stop here rather than fail every row in turn.
          return result;
        }
        await this.outbox.markDispatched(job.id);
        result.relayed++;
      }
      if (jobs.length < OUTBOX_BATCH || result.failed > 0) return result;
    }
  }

  /**
   * Sends again every job relayed within the window that Redis no longer holds (checked by job
   * id, one round trip per page). Returns the rows re-sent.
   */
  async verify(windowSeconds = OUTBOX_VERIFY_WINDOW_SECONDS): Promise<PendingJob[]> {
    const resent: PendingJob[] = [];
    let after = '0';
    for (;;) {
      const page = await this.outbox.dispatchedWithin(windowSeconds, after, OUTBOX_BATCH);
      if (page.length === 0 || this.stopped()) return resent;
      after = page[page.length - 1]!.id;
      const byQueue = new Map<string, PendingJob[]>();
      for (const job of page) {
        const definition = JOBS[job.jobName as JobName];
        if (definition) byQueue.set(definition.queue, [...(byQueue.get(definition.queue) ?? []), job]);
      }
      for (const [queue, jobs] of byQueue) {
        const missing = new Set(await this.queue.missing({ queue }, jobs.map((j) => j.idempotencyKey)));
        for (const job of jobs) {
          if (!missing.has(job.idempotencyKey)) continue;
          await this.queue.enqueue(JOBS[job.jobName as JobName], job.payload);
          await this.outbox.markResent(job.id);
          resent.push(job);
        }
      }
      if (page.length < OUTBOX_BATCH) return resent;
    }
  }
}
