// Before any test: make sure the real Postgres and Redis the tests talk to are there. Uses the
// servers on 127.0.0.1 when they answer (as in CI); otherwise starts an embedded Postgres and a
// local redis-server, as `npm start` does, so `npm test` works on a fresh machine too.
const { join } = require('node:path');

module.exports = async () => {
  const { ensurePostgres, ensureRedis } = await import('../tools/local-services.mjs');
  const log = (msg) => process.stderr.write(`[test setup] ${msg}\n`);
  const stops = [];
  if (!process.env.TEST_DATABASE_URL) {
    const pg = await ensurePostgres({ dataDir: join(__dirname, '..', '.flotilla', 'test-postgres'), port: 54330, log });
    if (pg.embedded) process.env.TEST_DATABASE_URL = `${pg.url}/postgres`;
    stops.push(pg.stop);
  }
  if (!process.env.TEST_REDIS_URL) {
    const redis = await ensureRedis({ log });
    stops.push(redis.stop);
  }
  globalThis.__flotillaTestServices = stops;
};
