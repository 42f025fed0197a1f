import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { JobDefinition } from './catalogue';
import { parsePayload } from './payload';

export interface EnqueueResult {
  jobId: string;
  /** False when a job with the same idempotency key already existed. */
  created: boolean;
}

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
      removeOnComplete: { age: 24 * 3600, count: 10000 },
      removeOnFail: false,
    });
    return { jobId, created: true };
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
