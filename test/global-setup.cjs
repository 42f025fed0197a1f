// Before any test: make sure the real Postgres and Redis the tests talk to are there. Uses the
// servers on 127.0.0.1 when they answer (as in CI); otherwise starts an embedded Postgres and a
// local redis-server, as `npm start` does, so `npm test` works on a fresh machine too.
//
// FLOTILLA_TEST_EMBEDDED=true forces that second path even when the machine's servers run: an
// embedded Postgres (fresh data directory) and a redis-server on free ports (never 5432 or 6379),
// leaving the machine's databases alone. TEST_DATABASE_URL and TEST_REDIS_URL then point at them, for
// @flotilla/testing and every service a test starts.
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

module.exports = async () => {
  const { ensurePostgres, ensureRedis } = await import('../tools/local-services.mjs');
  const log = (msg) => process.stderr.write(`[test setup] ${msg}\n`);
  const forced = process.env.FLOTILLA_TEST_EMBEDDED === 'true';
  const stops = [];
  globalThis.__flotillaTestServices = stops;
  if (forced) {
    const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-test-pg-'));
    const pg = await ensurePostgres({ dataDir, port: 0, force: true, log });
    stops.push(async () => {
      await pg.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const redis = await ensureRedis({ port: 0, force: true, log });
    stops.push(redis.stop);
    process.env.TEST_DATABASE_URL = `${pg.url}/postgres`;
    process.env.TEST_REDIS_URL = redis.url;
    log(`FLOTILLA_TEST_EMBEDDED: Postgres at 127.0.0.1:${pg.port}, Redis at 127.0.0.1:${redis.port}`);
    return;
  }
  if (!process.env.TEST_DATABASE_URL) {
    const pg = await ensurePostgres({ dataDir: join(__dirname, '..', '.flotilla', 'test-postgres'), port: 54330, log });
    if (pg.embedded) process.env.TEST_DATABASE_URL = `${pg.url}/postgres`;
    stops.push(pg.stop);
  }
  if (!process.env.TEST_REDIS_URL) {
    const redis = await ensureRedis({ log });
    process.env.TEST_REDIS_URL = redis.url;
    stops.push(redis.stop);
  }
};
