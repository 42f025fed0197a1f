import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { z } from 'zod';
import { TEST_REDIS_URL, eventually, testQueuePrefix } from '@flotilla/testing';
import { JOBS, JobDefinition, JobName } from './catalogue';
import { JobQueue } from './job-queue';
import { InvalidJobPayloadError } from './payload';
import { JobHandler, WorkerHost } from './worker-host';

describe('JobQueue and WorkerHost (real Redis)', () => {
  const { prefix, cleanup } = testQueuePrefix();
  let redis: Redis;
  let producer: JobQueue;
  let host: WorkerHost | undefined;

  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    producer = new JobQueue(redis, prefix);
  });
  afterEach(async () => host?.close());
  afterAll(async () => {
    await producer.close();
    await redis.quit();
    await cleanup();
  });

  const importJob = JOBS[JobName.ClusterImport];

  it('refuses a malformed payload when enqueued, and writes nothing to Redis', async () => {
    await expect(producer.enqueue(importJob, { name: 'x', uid: 'not-a-uuid', token: 'secret' })).rejects.toBeInstanceOf(InvalidJobPayloadError);
    const q = new Queue(importJob.queue, { connection: redis, prefix });
    expect(await q.count()).toBe(0);
    await q.close();
  });

  it('runs each job once per idempotency key, with progress, and validates again when taken', async () => {
    const seen: { payload: unknown; steps: string[] }[] = [];
    const handler: JobHandler<unknown> = {
      definition: importJob as JobDefinition<unknown>,
      async handle(payload, ctx) {
        await ctx.progress('connect', 40);
        await ctx.progress('done', 100);
        seen.push({ payload, steps: ['connect', 'done'] });
      },
    };
    const uid = randomUUID();
    const first = await producer.enqueue(importJob, { name: 'm1', uid });
    const second = await producer.enqueue(importJob, { name: 'm1', uid });
    expect(first).toEqual({ jobId: `cluster.import.${uid}`, created: true });
    expect(second).toEqual({ jobId: first.jobId, created: false });
    const outcomes: string[] = [];
    host = new WorkerHost(redis, prefix, [handler], { onOutcome: (_q, _j, o) => outcomes.push(o) });
    host.start();
    await eventually(() => expect(outcomes).toEqual(['completed']));
    expect(seen).toEqual([{ payload: { name: 'm1', uid }, steps: ['connect', 'done'] }]);
    const q = new Queue(importJob.queue, { connection: redis, prefix });
    const job = await q.getJob(first.jobId);
    expect(job?.progress).toEqual({ step: 'done', percent: 100 });
    await q.close();
  });

  it('fails a malformed job with its reason, keeps it for inspection, and keeps working', async () => {
    const handled: string[] = [];
    const handler: JobHandler<unknown> = {
      definition: importJob as JobDefinition<unknown>,
      async handle(payload) {
        handled.push((payload as { name: string }).name);
      },
    };
    const q = new Queue(importJob.queue, { connection: redis, prefix });
    // Written straight to Redis, past the producer's validation: what a broken client could do.
    const bad = await q.add(importJob.name, { name: 42, extra: 'x' }, { jobId: 'broken-1', attempts: 5 });
    const unknown = await q.add('no.such.job', { name: 'x' }, { jobId: 'broken-2', attempts: 5 });
    await producer.enqueue(importJob, { name: 'after-bad', uid: randomUUID() });
    host = new WorkerHost(redis, prefix, [handler]);
    host.start();
    await eventually(() => expect(handled).toEqual(['after-bad']));
    const failed = await eventually(async () => {
      const j = await q.getJob(bad.id!);
      expect(await j?.getState()).toBe('failed');
      return j!;
    });
    expect(failed.failedReason).toContain('invalid payload for job cluster.import');
    expect(failed.failedReason).toContain('name:');
    expect(failed.failedReason).toContain('unknown field(s) extra');
    expect(failed.attemptsMade).toBe(1); // not retried: it can never succeed
    const unknownJob = await eventually(async () => {
      const j = await q.getJob(unknown.id!);
      expect(await j?.getState()).toBe('failed');
      return j!;
    });
    expect(unknownJob.failedReason).toContain('no handler for job "no.such.job"');
    const status = await host.status();
    expect(status[0]).toMatchObject({ queue: 'cluster-import', jobs: ['cluster.import'], running: true });
    expect(status[0]!.counts.failed).toBeGreaterThanOrEqual(2);
    await q.close();
  });

  it('retries a failing handler with backoff, then keeps the failure', async () => {
    const definition: JobDefinition<{ n: number }> = {
      name: 'test.flaky',
      queue: `flaky-${randomUUID().slice(0, 8)}`,
      schema: z.strictObject({ n: z.number() }),
      idempotencyKey: (p) => `test.flaky.${p.n}`,
      attempts: 3,
      backoffMs: 10,
    };
    let calls = 0;
    host = new WorkerHost(redis, prefix, [{ definition: definition as JobDefinition<unknown>, handle: async () => void (calls++, (() => { throw new Error('member unreachable'); })()) }]);
    host.start();
    const { jobId } = await producer.enqueue(definition, { n: 1 });
    const q = new Queue(definition.queue, { connection: redis, prefix });
    const job = await eventually(async () => {
      const j = await q.getJob(jobId);
      expect(await j?.getState()).toBe('failed');
      return j!;
    });
    expect(calls).toBe(3);
    expect(job.failedReason).toBe('member unreachable');
    await q.close();
  });

  it('lets in-flight jobs finish when closed', async () => {
    let finished = false;
    let started!: () => void;
    const startedP = new Promise<void>((r) => (started = r));
    host = new WorkerHost(redis, prefix, [
      {
        definition: importJob as JobDefinition<unknown>,
        async handle() {
          started();
          await new Promise((r) => setTimeout(r, 300));
          finished = true;
        },
      },
    ]);
    host.start();
    await producer.enqueue(importJob, { name: 'slow', uid: randomUUID() });
    await startedP;
    await host.close();
    expect(finished).toBe(true);
    host = undefined;
  });
});
