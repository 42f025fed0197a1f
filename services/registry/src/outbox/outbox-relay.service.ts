import { Inject, Injectable, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { JOBS, JobName, JobQueue } from '@flotilla/queue';
import { RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import { ChangeListener } from '../infrastructure/change-listener';
import { PruneScheduler } from '../infrastructure/prune-scheduler';
import { CHANGE_LISTENER } from '../infrastructure/tokens';
import { OutboxRepository } from './outbox.repository';
import { CoalescingTask } from '../infrastructure/coalescing-task';

export const JOB_QUEUE = Symbol('registry.job-queue');

const BATCH = 100;
const POLL_MS = 1000;
/** How long relayed jobs stay in the outbox. */
const DISPATCHED_RETENTION_SECONDS = 24 * 3600;

/** Moves jobs from the outbox to BullMQ: at once after a commit, and on a timer as a safety net. */
@Injectable()
export class OutboxRelayService implements OnModuleInit, OnApplicationBootstrap {
  private timer?: NodeJS.Timeout;
  private readonly task = new CoalescingTask(
    () => this.relay(),
    (error) => this.runtime.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'outbox relay pass failed'),
  );

  constructor(
    private readonly outbox: OutboxRepository,
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(CHANGE_LISTENER) private readonly listener: ChangeListener,
    private readonly prune: PruneScheduler,
  ) {
    runtime.shutdown.onDrain('outbox-relay', async () => {
      clearInterval(this.timer);
      await this.task.stop();
    });
  }

  onModuleInit(): void {
    this.prune.register('job-outbox', () => this.outbox.pruneDispatched(DISPATCHED_RETENTION_SECONDS));
  }

  onApplicationBootstrap(): void {
    const outbox = this.outbox;
    new Gauge({
      name: 'flotilla_outbox_pending_jobs',
      help: 'Jobs written to the outbox and not yet relayed to the queue (grows while Redis is unreachable)',
      registers: [this.runtime.metrics.registry],
      async collect() {
        this.set(await outbox.pendingCount().catch(() => -1));
      },
    });
    this.listener.onOutbox(() => this.kick());
    this.timer = setInterval(() => this.kick(), POLL_MS);
    this.timer.unref();
    this.kick();
  }

  /** Runs a relay pass now, or right after the one in progress. */
  kick(): void {
    this.task.kick();
  }

  private async relay(): Promise<void> {
    let full = true;
    while (full && !this.task.stopped) {
      let claimed = 0;
      let anyFailed = false;
      await this.outbox.withPending(BATCH, async (jobs, done, failed) => {
        claimed = jobs.length;
        for (const job of jobs) {
          const definition = JOBS[job.jobName as JobName];
          if (!definition) {
            await failed(job.id, `unknown job ${job.jobName}`);
            continue;
          }
          try {
            const result = await this.queue.enqueue(definition, job.payload);
            await done(job.id);
            this.runtime.logger.debug({ job: job.jobName, jobId: result.jobId, created: result.created }, 'job relayed');
          } catch (error) {
            anyFailed = true;
            await failed(job.id, error instanceof Error ? error.message : String(error));
          }
        }
      });
      // A failure (Redis down, say) waits for the next timer tick rather than spinning.
      full = claimed === BATCH && !anyFailed;
    }
  }
}
