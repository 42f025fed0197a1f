import { randomUUID } from 'node:crypto';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL, eventually, testQueuePrefix } from '@flotilla/testing';
import { JOBS, JobDefinition, JobName } from './catalogue';
import { JobQueue } from './job-queue';
import { GaveUpJob, JobHandler, WorkerHost } from './worker-host';

/** Issue 13: a job BullMQ fails after its worker died (stalled) must reach the service, which records it on the cluster. */
describe('WorkerHost: jobs BullMQ gives up on (real Redis)', () => {
  const { prefix, cleanup } = testQueuePrefix();
  let redis: Redis;
  let producer: JobQueue;
  const importJob = JOBS[JobName.ClusterImport];

  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    producer = new JobQueue(redis, prefix);
  });
  afterAll(async () => {
    await producer.close();
    await redis.quit();
    await cleanup();
  });

  it('reports a job failed for stalling (its worker died mid-job) with its payload and reason; the handler never ran', async () => {
    // The worker that dies: takes the job, then is gone without a word (its lock is no longer renewed).
    // Its stalled check runs at start and throttles everyone's for stalledInterval: keep that short too.
    const dying = redis.duplicate({ maxRetriesPerRequest: null });
    let taken!: () => void;
    const takenP = new Promise<void>((r) => (taken = r));
    const doomed = new Worker(importJob.queue, () => (taken(), new Promise(() => undefined)), { connection: dying, prefix, lockDuration: 400, stalledInterval: 200 });
    const uid = randomUUID();
    const { jobId } = await producer.enqueue(importJob, { name: 'stalls', uid });
    await takenP;
    await doomed.close(true);
    dying.disconnect();

    const handled: string[] = [];
    const gaveUp: GaveUpJob[] = [];
    const handler: JobHandler<unknown> = { definition: importJob as JobDefinition<unknown>, handle: async (p) => void handled.push((p as { name: string }).name) };
    const host = new WorkerHost(redis, prefix, [handler], {}, {}, { lockDurationMs: 400, stalledIntervalMs: 200, maxStalledCount: 0 });
    host.onGaveUp((j) => void gaveUp.push(j));
    host.start();
    try {
      await eventually(() => expect(gaveUp).toHaveLength(1), { timeoutMs: 10_000 });
      expect(gaveUp[0]).toMatchObject({ queue: importJob.queue, jobName: importJob.name, jobId, data: { name: 'stalls', uid }, reason: 'job stalled more than allowable limit' });
      expect(handled).toEqual([]);
    } finally {
      await host.close();
    }
  });

  it('reports a job once its last attempt failed, not after the attempts with retries left', async () => {
    const gaveUp: GaveUpJob[] = [];
    let calls = 0;
    const definition: JobDefinition<unknown> = { ...(importJob as JobDefinition<unknown>), queue: `flaky-${randomUUID().slice(0, 8)}`, attempts: 3, backoffMs: 10 };
    const host = new WorkerHost(redis, prefix, [{ definition, handle: async () => { calls++; throw new Error('member unreachable'); } }]);
    host.onGaveUp((j) => void gaveUp.push(j));
    host.start();
    try {
      await producer.enqueue(definition, { name: 'flaky', uid: randomUUID() });
      await eventually(() => expect(gaveUp).toHaveLength(1), { timeoutMs: 10_000 });
      expect(calls).toBe(3);
      expect(gaveUp[0]).toMatchObject({ reason: 'member unreachable', attemptsMade: 3 });
    } finally {
      await host.close();
    }
  });
});
