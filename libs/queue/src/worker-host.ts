import { Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { JobDefinition } from './catalogue';
import { InvalidJobPayloadError, parsePayload } from './payload';

/** What a handler gets besides its payload. */
export interface JobContext {
  jobId: string;
  attempt: number;
  /** Reports progress as a named step and a percentage (0-100). */
  progress(step: string, percent: number): Promise<void>;
}

export interface JobHandler<P> {
  definition: JobDefinition<P>;
  handle(payload: P, context: JobContext): Promise<void>;
}

export interface JobEvents {
  onOutcome?(queue: string, job: string, outcome: 'completed' | 'failed' | 'invalid', error?: Error): void;
}

/**
 * A job BullMQ will not run again: its last attempt failed, it was refused as invalid, or it
 * stalled more often than allowed (its worker died with it). In the last case the handler never
 * ran, so nothing recorded the outcome: a listener of onGaveUp does.
 */
export interface GaveUpJob {
  queue: string;
  jobName: string;
  jobId: string;
  /** The payload as stored (not validated: it may be the reason it failed). */
  data: unknown;
  reason: string;
  attemptsMade: number;
}

/** BullMQ worker timings; the defaults are BullMQ's own (tests shorten them to see a stall in seconds). */
export interface WorkerTimings {
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  maxStalledCount?: number;
}

export interface QueueRuntimeStatus {
  queue: string;
  jobs: string[];
  running: boolean;
  concurrency: number;
  counts: { waiting: number; active: number; completed: number; failed: number; delayed: number };
}

/** Fails at start-up when a job has two handlers, or a declared job has none. */
export function checkHandlers(service: string, declared: readonly string[], handlers: readonly JobHandler<unknown>[]): void {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  for (const h of handlers) seen.set(h.definition.name, (seen.get(h.definition.name) ?? 0) + 1);
  for (const [name, count] of seen) {
    if (count > 1) problems.push(`job ${name} has ${count} handlers; exactly one is allowed`);
    if (!declared.includes(name)) problems.push(`job ${name} has a handler but ${service} does not declare it`);
  }
  for (const name of declared) if (!seen.has(name)) problems.push(`job ${name} is declared by ${service} but has no handler`);
  if (problems.length > 0) throw new Error(`${service}: job registry is inconsistent: ${problems.join('; ')}`);
}

/**
 * The consumer side: one BullMQ worker per queue that has handlers. Payloads are validated
 * again when taken; a malformed job fails at once with its reason and is kept for inspection
 * (UnrecoverableError: no retries), and never crashes the worker.
 */
export class WorkerHost {
  private readonly workers = new Map<string, { worker: Worker; queue: Queue; connection: Redis; jobs: string[]; concurrency: number }>();
  private readonly gaveUpListeners: ((job: GaveUpJob) => void | Promise<void>)[] = [];

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
    private readonly handlers: readonly JobHandler<unknown>[],
    private readonly events: JobEvents = {},
    private readonly concurrency: Record<string, number> = {},
    private readonly timings: WorkerTimings = {},
  ) {}

  /** Called once per job BullMQ gives up on (see GaveUpJob); a listener's failure is swallowed (the reconciler catches up). */
  onGaveUp(listener: (job: GaveUpJob) => void | Promise<void>): void {
    this.gaveUpListeners.push(listener);
  }

  start(): void {
    const byQueue = new Map<string, JobHandler<unknown>[]>();
    for (const h of this.handlers) byQueue.set(h.definition.queue, [...(byQueue.get(h.definition.queue) ?? []), h]);
    for (const [queueName, handlers] of byQueue) {
      const byName = new Map(handlers.map((h) => [h.definition.name, h]));
      const concurrency = this.concurrency[queueName] ?? 10;
      // A worker blocks its connection waiting for jobs: it gets its own, closed with it. The
      // shared connection's commands time out (service-kit createRedis); a blocking BZPOPMIN must
      // not, and BullMQ requires maxRetriesPerRequest null here. These are the only such connections.
      const connection = this.connection.duplicate({ maxRetriesPerRequest: null, commandTimeout: undefined });
      const worker = new Worker(queueName, async (job: Job) => this.process(queueName, byName, job), {
        connection,
        prefix: this.prefix,
        concurrency,
        autorun: true,
        ...(this.timings.lockDurationMs ? { lockDuration: this.timings.lockDurationMs } : {}),
        ...(this.timings.stalledIntervalMs ? { stalledInterval: this.timings.stalledIntervalMs } : {}),
        ...(this.timings.maxStalledCount !== undefined ? { maxStalledCount: this.timings.maxStalledCount } : {}),
      });
      worker.on('error', () => {
        // Connection errors are retried by ioredis; readiness reports them.
      });
      // Every failed attempt lands here, including a job failed for stalling too often, which
      // BullMQ fails without calling the processor (the handler never sees it).
      worker.on('failed', (job) => void this.gaveUpIfFinal(queueName, job));
      const queue = new Queue(queueName, { connection: this.connection, prefix: this.prefix });
      // Without a listener BullMQ prints each connection error with its stack (see JobQueue).
      queue.on('error', () => undefined);
      this.workers.set(queueName, { worker, queue, connection, jobs: [...byName.keys()], concurrency });
    }
  }

  private async process(queueName: string, byName: Map<string, JobHandler<unknown>>, job: Job): Promise<void> {
    const handler = byName.get(job.name);
    if (!handler) {
      this.events.onOutcome?.(queueName, job.name, 'invalid');
      throw new UnrecoverableError(`no handler for job "${job.name}" on queue ${queueName}; it is kept for inspection`);
    }
    let payload: unknown;
    try {
      payload = parsePayload(job.name, handler.definition.schema, job.data);
    } catch (error) {
      this.events.onOutcome?.(queueName, job.name, 'invalid');
      throw new UnrecoverableError(error instanceof InvalidJobPayloadError ? error.message : 'invalid payload');
    }
    try {
      await handler.handle(payload, {
        jobId: job.id ?? '',
        attempt: job.attemptsMade + 1,
        progress: (step, percent) => job.updateProgress({ step, percent: Math.max(0, Math.min(100, Math.round(percent))) }),
      });
      this.events.onOutcome?.(queueName, job.name, 'completed');
    } catch (error) {
      this.events.onOutcome?.(queueName, job.name, 'failed', error instanceof Error ? error : undefined);
      throw error;
    }
  }

  private async gaveUpIfFinal(queue: string, job: Job | undefined): Promise<void> {
    if (!job || this.gaveUpListeners.length === 0) return;
    try {
      // A failed attempt with attempts left moves the job to delayed (or wait): not final.
      if ((await job.getState()) !== 'failed') return;
      const gaveUp: GaveUpJob = { queue, jobName: job.name, jobId: job.id ?? '', data: job.data, reason: job.failedReason ?? 'failed', attemptsMade: job.attemptsMade };
      for (const listener of this.gaveUpListeners) await Promise.resolve(listener(gaveUp)).catch(() => undefined);
    } catch {
      // Redis gone mid-way: the reconciler of the owning service finds the job failed later.
    }
  }

  async status(): Promise<QueueRuntimeStatus[]> {
    return Promise.all(
      [...this.workers.entries()].map(async ([queue, w]) => {
        const c = await w.queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed');
        return {
          queue,
          jobs: w.jobs,
          running: w.worker.isRunning(),
          concurrency: w.concurrency,
          counts: { waiting: c.waiting ?? 0, active: c.active ?? 0, completed: c.completed ?? 0, failed: c.failed ?? 0, delayed: c.delayed ?? 0 },
        };
      }),
    );
  }

  /** Stops taking jobs and waits for the active ones to finish. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.workers.values()].map(async (w) => {
        await w.worker.close();
        await w.queue.close();
        await w.connection.quit().catch(() => undefined);
      }),
    );
    this.workers.clear();
  }
}
