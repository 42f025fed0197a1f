import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { JobDefinition } from './catalogue';
import { parsePayload } from './payload';

export interface EnqueueResult {
  jobId: string;
  /** False when a job with the same idempotency key already existed. */
  created: boolean;
}

/** How long a completed job stays in Redis (seconds). */
export const COMPLETED_RETENTION_SECONDS = 24 * 3600;

/** Where a job stands in BullMQ; `missing` when Redis does not hold it (never added, or lost with Redis's data). */
export type QueuedJobState = 'missing' | 'waiting' | 'active' | 'delayed' | 'completed' | 'failed' | 'other';

/** The producer side: validates a payload against its definition, then adds it once. */
export class JobQueue {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly connection: Redis,
    private readonly prefix: string,
  ) {}

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.prefix });
      // A Queue without an 'error' listener prints each connection error with its stack
      // (BullMQ's console.error fallback) while Redis is down. The caller's command fails with
      // the error instead; readiness reports the connection.
      q.on('error', () => undefined);
      this.queues.set(name, q);
    }
    return q;
  }

  async enqueue<P>(definition: JobDefinition<P>, payload: unknown): Promise<EnqueueResult> {
    const data = parsePayload(definition.name, definition.schema, payload);
    const jobId = definition.idempotencyKey(data);
    const queue = this.queue(definition.queue);
    const existing = await queue.getJob(jobId);
    if (existing) return { jobId, created: false };
    await queue.add(definition.name, data, {
      jobId,
      attempts: definition.attempts,
      backoff: { type: 'exponential', delay: definition.backoffMs },
      // Kept by age only: the registry's outbox re-sends a dispatched job Redis no longer holds
      // (JobQueue.missing), so a completed job must outlive the outbox's check window
      // (OUTBOX_VERIFY_WINDOW_SECONDS), however many jobs completed meanwhile.
      removeOnComplete: { age: COMPLETED_RETENTION_SECONDS },
      removeOnFail: false,
    });
    return { jobId, created: true };
  }

  /** Of these job ids on the definition's queue, the ones Redis does not hold (one round trip). */
  async missing(definition: Pick<JobDefinition<unknown>, 'queue'>, jobIds: readonly string[]): Promise<string[]> {
    if (jobIds.length === 0) return [];
    const queue = this.queue(definition.queue);
    const pipeline = this.connection.pipeline();
    for (const id of jobIds) pipeline.exists(queue.toKey(id));
    const results = (await pipeline.exec()) ?? [];
    return jobIds.filter((_, i) => {
      const [error, exists] = results[i] ?? [new Error('no reply'), 0];
      if (error) throw error;
      return Number(exists) === 0;
    });
  }

  /** The state of one job, with the reason it failed when it did. */
  async state(definition: Pick<JobDefinition<unknown>, 'queue'>, jobId: string): Promise<{ state: QueuedJobState; failedReason?: string }> {
    const job = await this.queue(definition.queue).getJob(jobId);
    if (!job) return { state: 'missing' };
    const raw = await job.getState();
    const state: QueuedJobState = ['waiting', 'active', 'delayed', 'completed', 'failed'].includes(raw) ? (raw as QueuedJobState) : raw === 'prioritized' || raw === 'waiting-children' ? 'waiting' : 'other';
    return state === 'failed' ? { state, failedReason: job.failedReason } : { state };
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
