import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { createDataSource, runMigrations } from '@flotilla/persistence';
import { JOBS, JobDefinition, JobName, JobQueue } from '@flotilla/queue';
import { TEST_REDIS_URL, TestDatabase, createTestDatabase, eventually, testQueuePrefix } from '@flotilla/testing';
import { REGISTRY_MIGRATIONS } from '../migrations';
import { OutboxEntity } from './outbox.entity';
import { OutboxRelay } from './outbox-relay';
import { OutboxRepository } from './outbox.repository';

/** Issue 13: the outbox relays after commit, outside any transaction, and sends again what Redis lost. */
describe('outbox relay (real Postgres and Redis)', () => {
  const { prefix, cleanup } = testQueuePrefix();
  const importJob = JOBS[JobName.ClusterImport];
  let db: TestDatabase;
  let ds: DataSource;
  let redis: Redis;
  let queue: JobQueue;
  let outbox: OutboxRepository;
  let bull: Queue;

  beforeAll(async () => {
    db = await createTestDatabase();
    ds = createDataSource({ url: db.url, entities: [OutboxEntity], migrations: REGISTRY_MIGRATIONS, applicationName: 'outbox-spec' });
    await ds.initialize();
    await runMigrations(ds);
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 2000 });
    queue = new JobQueue(redis, prefix);
    outbox = new OutboxRepository(ds);
    bull = new Queue(importJob.queue, { connection: redis, prefix });
  });
  afterAll(async () => {
    await bull?.close();
    await queue?.close();
    await redis?.quit();
    await ds?.destroy();
    await db?.drop();
    await cleanup();
  });

  async function addRow(): Promise<{ uid: string; key: string }> {
    const uid = randomUUID();
    const key = importJob.idempotencyKey({ name: 'm', uid });
    await ds.query(`INSERT INTO job_outbox (job_name, payload, idempotency_key) VALUES ($1, $2::jsonb, $3)`, [importJob.name, JSON.stringify({ name: 'm', uid }), key]);
    return { uid, key };
  }
  const openTransactions = async () =>
    (await ds.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'outbox-spec' AND state LIKE 'idle in transaction%'`))[0].n as number;

  it('holds no transaction open while it waits for Redis', async () => {
    const { key } = await addRow();
    // The queue answers only when the test says so: Redis slow or hung, as in an outage.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let waiting = false;
    const slowQueue = {
      enqueue: async <P>(d: JobDefinition<P>, p: unknown) => {
        waiting = true;
        await gate;
        return queue.enqueue(d, p);
      },
      missing: (d: { queue: string }, ids: readonly string[]) => queue.missing(d, ids),
    };
    const pass = new OutboxRelay(outbox, slowQueue).relay();
    await eventually(() => expect(waiting).toBe(true));
    expect(await openTransactions()).toBe(0);
    release();
    expect(await pass).toEqual({ relayed: 1, failed: 0 });
    expect(await bull.getJob(key)).toBeTruthy();
    const [row] = await ds.query(`SELECT dispatched_at FROM job_outbox WHERE idempotency_key = $1`, [key]);
    expect(row.dispatched_at).not.toBeNull();
  });

  it('sends again a relayed job Redis no longer holds (same job id), and leaves the ones it holds', async () => {
    const lost = await addRow();
    const kept = await addRow();
    const relay = new OutboxRelay(outbox, queue);
    await relay.relay();
    expect(await bull.getJob(lost.key)).toBeTruthy();
    // Redis loses one job (restarted without persistence, say).
    await (await bull.getJob(lost.key))!.remove();
    expect(await queue.missing(importJob, [lost.key, kept.key])).toEqual([lost.key]);

    const resent = await relay.verify();
    expect(resent.map((j) => j.idempotencyKey)).toEqual([lost.key]);
    expect((await bull.getJob(lost.key))?.data).toEqual({ name: 'm', uid: lost.uid });
    const [row] = await ds.query(`SELECT attempts, last_error FROM job_outbox WHERE idempotency_key = $1`, [lost.key]);
    expect(row).toMatchObject({ attempts: 2, last_error: expect.stringContaining('re-sent') });
    // Nothing is missing now: a second pass sends nothing.
    expect(await relay.verify()).toEqual([]);
  });
});
