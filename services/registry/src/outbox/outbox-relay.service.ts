import { Inject, Injectable, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { JobQueue } from '@flotilla/queue';
import { RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import { ChangeListener, NotifyChannel } from '../infrastructure/change-listener';
import { PruneScheduler } from '../infrastructure/prune-scheduler';
import { CHANGE_LISTENER } from '../infrastructure/tokens';
import { OutboxRepository } from './outbox.repository';
import { CoalescingTask } from '../infrastructure/coalescing-task';
import { OutboxRelay } from './outbox-relay';

export const JOB_QUEUE = Symbol('registry.job-queue');

const POLL_MS = 1000;
/** How often relayed jobs are checked against Redis (and once at start: a registry restarted with Redis finds the loss at once). */
const VERIFY_MS = 30_000;
/** How long relayed jobs stay in the outbox. */
const DISPATCHED_RETENTION_SECONDS = 24 * 3600;

/**
 * Moves jobs from the outbox to BullMQ: at once after a commit (pg_notify), and on a timer as a
 * safety net; and every VERIFY_MS sends again the relayed jobs Redis no longer holds.
 */
@Injectable()
export class OutboxRelayService implements OnModuleInit, OnApplicationBootstrap {
  private timer?: NodeJS.Timeout;
  private verifyTimer?: NodeJS.Timeout;
  private readonly relayer: OutboxRelay;
  private readonly resentJobs: Counter;
  private readonly task = new CoalescingTask(
    () => this.relay(),
    (error) => this.runtime.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'outbox relay pass failed'),
  );
  private readonly verifyTask = new CoalescingTask(
    () => this.verify(),
    (error) => this.runtime.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'outbox verify pass failed'),
  );

  constructor(
    private readonly outbox: OutboxRepository,
    @Inject(JOB_QUEUE) private readonly queue: JobQueue,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(CHANGE_LISTENER) private readonly listener: ChangeListener,
    private readonly prune: PruneScheduler,
  ) {
    this.relayer = new OutboxRelay(outbox, queue, () => this.task.stopped);
    this.resentJobs = new Counter({
      name: 'flotilla_outbox_resent_jobs_total',
      help: 'Relayed jobs sent again because Redis no longer held them (Redis restarted without persistence)',
      registers: [runtime.metrics.registry],
    });
    runtime.shutdown.onDrain('outbox-relay', async () => {
      clearInterval(this.timer);
      clearInterval(this.verifyTimer);
      await Promise.all([this.task.stop(), this.verifyTask.stop()]);
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
    this.listener.on(NotifyChannel.jobOutbox, () => this.kick());
    this.timer = setInterval(() => this.kick(), POLL_MS);
    this.timer.unref();
    this.verifyTimer = setInterval(() => this.verifyTask.kick(), VERIFY_MS);
    this.verifyTimer.unref();
    this.kick();
    this.verifyTask.kick();
  }

  /** Runs a relay pass now, or right after the one in progress. */
  kick(): void {
    this.task.kick();
  }

  private async relay(): Promise<void> {
    const { relayed, failed } = await this.relayer.relay();
    if (relayed > 0 || failed > 0) this.runtime.logger.debug({ relayed, failed }, 'outbox relay pass');
  }

  /** Re-sends relayed jobs Redis lost (a restart without persistence); a failure waits for the next tick. */
  private async verify(): Promise<void> {
    const resent = await this.relayer.verify();
    if (resent.length === 0) return;
    this.resentJobs.inc(resent.length);
    this.runtime.logger.warn({ jobs: resent.length, first: resent[0]!.idempotencyKey }, 'jobs the queue no longer held were sent again');
  }
}
