#!/usr/bin/env node
// `npm start`: builds Flotilla if needed and runs every service in the foreground, with the
// databases it needs; Ctrl-C stops it all. See README.md ("Quick start") for what it does.
import { spawn, spawnSync } from 'node:child_process';
import { ensurePostgres, ensureRedis, waitFor } from './local-services.mjs';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
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

async function databases(cleanup) {
  let DATABASE_URL = process.env.DATABASE_URL;
  if (!DATABASE_URL) {
    const pg = await ensurePostgres({ dataDir: join(stateDir, 'postgres'), database: 'flotilla', log });
    cleanup.push(async () => {
      if (pg.embedded) log('stopping the embedded Postgres');
      await pg.stop();
    });
    DATABASE_URL = `${pg.url}/flotilla`;
  }
  let REDIS_URL = process.env.REDIS_URL;
  if (!REDIS_URL) {
    const redis = await ensureRedis({ log });
    cleanup.push(() => redis.stop());
    REDIS_URL = redis.url;
  }
  return { DATABASE_URL, REDIS_URL };
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
  let urls;
  try {
    urls = await databases(cleanup);
  } catch (error) {
    for (const step of cleanup.reverse()) await step().catch(() => {});
    fail(error.message);
  }
  const env = { ...process.env, ...secrets, ...urls };

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
  try {
    await waitFor(ready(SERVICES[0]), 'registry');
    for (const svc of SERVICES.slice(1)) startOne(svc);
    await Promise.all(SERVICES.slice(1).map((svc) => waitFor(ready(svc), svc.name)));
  } catch (error) {
    process.stderr.write(`${JSON.stringify({ level: 'fatal', service: 'start', msg: error.message })}\n`);
    await stopAll(1);
  }
  const gateway = SERVICES[SERVICES.length - 1];
  log(`Flotilla is up: REST API at http://127.0.0.1:${gateway.http} (docs at /docs). Press Ctrl-C to stop.`, {
    adminToken: secrets.FLOTILLA_ADMIN_TOKEN ? `FLOTILLA_ADMIN_TOKEN in ${file}` : 'FLOTILLA_ADMIN_TOKEN from your environment',
  });
}

main().catch((error) => fail(error instanceof Error ? error.message : String(error)));
