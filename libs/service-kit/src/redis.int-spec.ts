import { createServer, type Server, type Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { JOBS, JobDefinition, JobName, JobQueue, WorkerHost } from '@flotilla/queue';
import { TEST_REDIS_URL, eventually, freePort, testQueuePrefix } from '@flotilla/testing';
import { createRedis } from './redis';

/** Issue 13: a Redis that accepts connections and never answers (a hung server, a half-open network). */
async function blackhole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => void sockets.add(s));
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `redis://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('createRedis: every command has a bound', () => {
  it('fails a command against a Redis that never answers, instead of waiting for ever', async () => {
    const hole = await blackhole();
    const redis = createRedis(hole.url, 'test-timeout', 300);
    redis.on('error', () => undefined);
    try {
      const started = Date.now();
      const outcome = await Promise.race([
        redis.get('k').then(() => 'answered', (e: Error) => `failed: ${e.message}`),
        new Promise((r) => setTimeout(() => r('still waiting after 5 s'), 5_000).unref()),
      ]);
      expect(outcome).toMatch(/^failed: /);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      redis.disconnect();
      await hole.close();
    }
  });

  it('fails a command while no Redis listens at all', async () => {
    const redis = createRedis(`redis://127.0.0.1:${await freePort()}`, 'test-refused', 300);
    redis.on('error', () => undefined);
    try {
      await expect(redis.ping()).rejects.toThrow();
    } finally {
      redis.disconnect();
    }
  });

  it("leaves BullMQ's blocking connections without a timeout: a worker on a timed connection still takes a job after idling longer than the timeout", async () => {
    const { prefix, cleanup } = testQueuePrefix();
    const redis = createRedis(TEST_REDIS_URL, 'test-worker', 200);
    const producer = new JobQueue(redis, prefix);
    const def = JOBS[JobName.ClusterImport];
    const seen: string[] = [];
    const errors: string[] = [];
    const host = new WorkerHost(redis, prefix, [{ definition: def as JobDefinition<unknown>, handle: async (p) => void seen.push((p as { name: string }).name) }], {
      onOutcome: (_q, _j, outcome, error) => outcome !== 'completed' && errors.push(error?.message ?? outcome),
    });
    try {
      host.start();
      // The worker's blocking command has lasted a second on the server, five times the timeout.
      const blockedForASecond = (line: string) => line.includes(`name=${prefix}:`) && line.includes('cmd=bzpopmin') && /\bidle=[1-9]/.test(line);
      await eventually(async () => expect(String(await redis.client('LIST')).split('\n').some(blockedForASecond)).toBe(true), { timeoutMs: 8_000, intervalMs: 100 });
      await producer.enqueue(def, { name: 'late', uid: randomUUID() });
      await eventually(() => expect(seen).toEqual(['late']), { timeoutMs: 5_000 });
      expect(errors).toEqual([]);
    } finally {
      await host.close();
      await producer.close();
      await redis.quit();
      await cleanup();
    }
  });
});
