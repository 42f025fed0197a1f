#!/usr/bin/env node
// `npm start`: builds Flotilla if needed and runs every service in the foreground, with the
// databases it needs; Ctrl-C stops it all: the services first (callers before what they call), the
// databases it started last. See README.md ("Quick start") and docs/operations.md ("npm start").
//
// Services always log JSON lines. In a terminal, start prints them readably (pino-pretty); piped,
// it passes the JSON lines through unchanged. FLOTILLA_LOG_FORMAT=json|pretty overrides the choice.
import { spawn, spawnSync } from 'node:child_process';
import { ensurePostgres, ensureRedis, waitFor } from './local-services.mjs';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { ensureDevPki } from './dev-pki.mjs';
import { gatewayHttps, httpsReady, writeAdminKubeconfig } from './gateway-https.mjs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const stateDir = process.env.FLOTILLA_STATE_DIR || join(root, '.flotilla');
const pretty = (process.env.FLOTILLA_LOG_FORMAT || (process.stdout.isTTY ? 'pretty' : 'json')) === 'pretty' ? await prettyPrinter() : undefined;

/** One log line: JSON as the services write it, or pretty-printed in a terminal. */
function emit(stream, line) {
  if (!pretty) return stream.write(`${line}\n`);
  let entry;
  try {
    entry = JSON.parse(line);
  } catch {
    return stream.write(`${line}\n`);
  }
  return stream.write(entry && typeof entry === 'object' ? pretty(entry) : `${line}\n`);
}
const log = (msg, extra = {}) => emit(process.stdout, JSON.stringify({ level: 'info', time: new Date().toISOString(), service: 'start', msg, ...extra }));
const fatal = (msg) => emit(process.stderr, JSON.stringify({ level: 'fatal', time: new Date().toISOString(), service: 'start', msg }));
const fail = (msg) => {
  fatal(msg);
  process.exit(1);
};

async function prettyPrinter() {
  const { prettyFactory } = await import('pino-pretty');
  return prettyFactory({
    colorize: Boolean(process.stdout.isTTY),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service,requestId,config', // the config each service starts with: FLOTILLA_LOG_FORMAT=json shows it
    messageFormat: '{service}{if requestId} [{requestId}]{end} {msg}',
    singleLine: true,
  });
}

// FLOTILLA_PORT_OFFSET shifts every port (HTTP and gRPC), to run a second copy beside the first.
const offset = Number(process.env.FLOTILLA_PORT_OFFSET ?? 0);
if (!Number.isInteger(offset) || offset < 0 || offset > 10000) fail('FLOTILLA_PORT_OFFSET must be a whole number from 0 to 10000, e.g. FLOTILLA_PORT_OFFSET=100');
// FLOTILLA_GRPC_BASE_PORT moves the five gRPC ports (gateway, registry, provider-import, health-probe,
// federation-sync: base to base+4; default 50050). The offset applies on top.
const grpcBase = Number(process.env.FLOTILLA_GRPC_BASE_PORT ?? 50050);
if (!Number.isInteger(grpcBase) || grpcBase < 1024 || grpcBase + offset + 4 > 65535) fail('FLOTILLA_GRPC_BASE_PORT must be a whole number from 1024 up, with the offset and 4 more ports still at most 65535, e.g. FLOTILLA_GRPC_BASE_PORT=50050');
const SERVICES = [
  { name: 'registry', http: 8081 + offset, grpc: grpcBase + 1 + offset },
  { name: 'provider-import', http: 8082 + offset, grpc: grpcBase + 2 + offset },
  { name: 'health-probe', http: 8083 + offset, grpc: grpcBase + 3 + offset },
  { name: 'federation-sync', http: 8084 + offset, grpc: grpcBase + 4 + offset },
  { name: 'gateway', http: Number(process.env.PORT ?? 8080) + offset, grpc: grpcBase + offset, httpEnv: 'PORT' },
];
/** Stopped in this order, each group after the one before has exited: callers before what they call. */
const STOP_ORDER = [['gateway'], ['provider-import', 'health-probe', 'federation-sync'], ['registry']];

function build() {
  log('building (incremental TypeScript build)');
  const result = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) fail('the build failed: see the TypeScript errors above');
  const alias = spawnSync(process.execPath, [join(root, 'node_modules/tsc-alias/dist/bin/index.js'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (alias.status !== 0) fail('rewriting import paths (tsc-alias) failed');
}

/** The internal identities that call other services, each with its own token (docs/security.md); operator is for grpcurl and tools. */
const CALLER_IDENTITIES = ['gateway', 'provider-import', 'health-probe', 'federation-sync', 'operator'];
const tokenVariable = (identity) => `FLOTILLA_INTERNAL_TOKEN_${identity.toUpperCase().replace(/-/g, '_')}`;

/** Development secrets, made once and kept in .flotilla/dev-secrets.env (mode 0600). */
function devSecrets() {
  const file = join(stateDir, 'dev-secrets.env');
  const wanted = {
    FLOTILLA_ADMIN_TOKEN: () => randomBytes(32).toString('hex'),
    ...Object.fromEntries(CALLER_IDENTITIES.map((id) => [tokenVariable(id), () => randomBytes(32).toString('hex')])),
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

/**
 * Internal trust for each service: its own token, and the SHA-256 of every caller's token as
 * FLOTILLA_INTERNAL_CALLERS. With FLOTILLA_INTERNAL_TLS=true, also a development CA and one
 * certificate per service under .flotilla/internal-pki (kept, renewed when 30 days are left).
 */
function internalTrust(secrets) {
  const token = (id) => process.env[tokenVariable(id)] || secrets[tokenVariable(id)];
  const callers = CALLER_IDENTITIES.map((id) => `${id}:${createHash('sha256').update(token(id)).digest('hex')}`).join(',');
  const tls = process.env.FLOTILLA_INTERNAL_TLS === 'true';
  let pki;
  if (tls && !process.env.FLOTILLA_INTERNAL_TLS_CERT) {
    pki = ensureDevPki(join(stateDir, 'internal-pki'), SERVICES.map((svc) => svc.name).concat('operator'));
    log('internal mTLS on: development CA and per-service certificates', { dir: join(stateDir, 'internal-pki') });
  }
  return (name) => ({
    FLOTILLA_INTERNAL_CALLERS: process.env.FLOTILLA_INTERNAL_CALLERS ?? callers,
    ...(name === 'registry' ? {} : { FLOTILLA_INTERNAL_TOKEN: token(name) }),
    ...(pki
      ? { FLOTILLA_INTERNAL_TLS_CA: pki.ca, FLOTILLA_INTERNAL_TLS_CERT: pki.identities[name].cert, FLOTILLA_INTERNAL_TLS_KEY: pki.identities[name].key }
      : {}),
  });
}

/**
 * The databases: DATABASE_URL and REDIS_URL when set, else the machine's servers, else embedded ones
 * (FLOTILLA_EMBEDDED=true forces embedded ones, on free ports). Those it starts run detached from
 * the terminal's process group, so Ctrl-C reaches only the services; `cleanup` stops them last.
 */
async function databases(cleanup) {
  const force = process.env.FLOTILLA_EMBEDDED === 'true';
  let DATABASE_URL = process.env.DATABASE_URL;
  if (!DATABASE_URL) {
    const pg = await ensurePostgres({ dataDir: join(stateDir, 'postgres'), database: 'flotilla', force, port: force ? 0 : 54329, log });
    cleanup.push(async () => {
      if (!pg.embedded) return;
      log('stopping the embedded Postgres');
      await pg.stop();
      log('the embedded Postgres stopped');
    });
    DATABASE_URL = `${pg.url}/flotilla`;
  }
  let REDIS_URL = process.env.REDIS_URL;
  if (!REDIS_URL) {
    const redis = await ensureRedis({ force, port: force ? 0 : 6379, log });
    cleanup.push(async () => {
      if (!redis.embedded) return;
      log('stopping redis-server');
      await redis.stop();
      log('redis-server stopped');
    });
    REDIS_URL = redis.url;
  }
  return { DATABASE_URL, REDIS_URL };
}

async function main() {
  const cleanup = [];
  const children = new Map();
  let stopping = false;
  const exited = (child) => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r)));
  const stopAll = async (code) => {
    if (stopping) return;
    stopping = true;
    log('stopping every service');
    // In a terminal, Ctrl-C has already sent SIGINT to every service (they share start's process
    // group); the SIGTERM makes `kill <start's pid>` behave the same. Callers go before what they call.
    for (const group of STOP_ORDER) {
      const running = group.map((name) => [name, children.get(name)]).filter(([, child]) => child);
      for (const [, child] of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await Promise.all(running.map(async ([name, child]) => {
        await exited(child);
        await child.outputDone;
        log(`${name} stopped`);
      }));
    }
    // The databases last: only now does nothing use them.
    for (const step of cleanup.reverse()) await step().catch((error) => fatal(`stopping a database failed: ${error.message}`));
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  process.on('SIGHUP', () => void stopAll(0));
  // Should start die without stopping them, take the services along (the databases' keepers notice on their own).
  process.on('exit', () => {
    for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });

  if (process.env.FLOTILLA_SKIP_BUILD !== 'true') build();
  const { env: secrets, file } = devSecrets();
  let urls;
  try {
    urls = await databases(cleanup);
  } catch (error) {
    for (const step of cleanup.reverse()) await step().catch(() => {});
    fail(error.message);
  }
  // Emulated members (npm run kube-emulator) listen on loopback: allow them in development unless
  // the operator says otherwise. Every service logs this at start (docs/security.md).
  const env = { FLOTILLA_ALLOW_LOOPBACK_MEMBERS: 'true', ...process.env, ...secrets, ...urls };
  let trustOf;
  let https;
  try {
    trustOf = internalTrust(secrets);
    https = gatewayHttps(stateDir, env);
    if (https.generated) log('gateway HTTPS on: development CA and serving certificate', { dir: join(stateDir, 'gateway-pki') });
  } catch (error) {
    for (const step of cleanup.reverse()) await step().catch(() => {});
    fail(error.message);
  }

  // Under internal mTLS, dial by name: TLS sends it as the server name, which an IP address cannot be (RFC 6066).
  const internalHost = process.env.FLOTILLA_INTERNAL_TLS === 'true' ? 'localhost' : '127.0.0.1';
  const registryGrpc = `${internalHost}:${SERVICES[0].grpc}`;
  const importGrpc = `${internalHost}:${SERVICES[1].grpc}`;
  const startOne = (svc) => {
    const entry = join(root, 'dist/services', svc.name, 'src/main.js');
    const child = spawn(process.execPath, [entry], {
      cwd: root,
      env: {
        ...env,
        ...trustOf(svc.name),
        REGISTRY_GRPC_URL: env.REGISTRY_GRPC_URL ?? registryGrpc,
        PROVIDER_IMPORT_GRPC_URL: env.PROVIDER_IMPORT_GRPC_URL ?? importGrpc,
        GRPC_PORT: String(svc.grpc),
        [svc.httpEnv ?? 'HTTP_PORT']: String(svc.http),
        ...(svc.name === 'gateway' ? https.gatewayEnv : {}),
      },
      stdio: ['ignore', pretty ? 'pipe' : 'inherit', pretty ? 'pipe' : 'inherit'],
    });
    child.outputDone = Promise.resolve();
    if (pretty) {
      const follow = (from, to) => new Promise((resolve) => createInterface({ input: from }).on('line', (line) => emit(to, line)).once('close', resolve));
      child.outputDone = Promise.all([follow(child.stdout, process.stdout), follow(child.stderr, process.stderr)]);
    }
    children.set(svc.name, child);
    child.once('exit', (code, signal) => {
      if (!stopping) {
        fatal(`${svc.name} exited (${signal ?? code}); stopping the platform`);
        void stopAll(1);
      }
    });
  };
  const ready = (svc) => async () => {
    if (svc.name === 'gateway' && https.scheme === 'https') return httpsReady(svc.http, https.ca);
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
    fatal(error.message);
    await stopAll(1);
  }
  const gateway = SERVICES[SERVICES.length - 1];
  const server = `${https.scheme}://127.0.0.1:${gateway.http}`;
  // Written before "Flotilla is up", so whoever waits for that line finds it.
  const kubeconfig = https.scheme === 'https' ? writeAdminKubeconfig(stateDir, server, https.ca, env.FLOTILLA_ADMIN_TOKEN) : undefined;
  log(`Flotilla is up: REST API at ${server} (docs at /docs). Press Ctrl-C to stop.`, {
    adminToken: secrets.FLOTILLA_ADMIN_TOKEN ? `FLOTILLA_ADMIN_TOKEN in ${file}` : 'FLOTILLA_ADMIN_TOKEN from your environment',
    ...(https.ca ? { ca: https.ca } : {}),
  });
  nextSteps(server, https.ca, kubeconfig, secrets.FLOTILLA_ADMIN_TOKEN ? file : undefined);
}

/** A path as the user can type it from where they ran npm start. */
const shown = (path) => {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
};

/** The commands for kubectl (over HTTPS: the kubeconfig start wrote) and the CLI. */
function nextSteps(server, caFile, kubeconfig, secretsFile) {
  if (kubeconfig) log(`kubectl: export KUBECONFIG=${shown(kubeconfig)}  (context flotilla, the admin token; then: kubectl get clusters)`);
  else log('the gateway serves plain HTTP (FLOTILLA_GATEWAY_HTTP=true): no kubeconfig written, as kubectl sends a token only over HTTPS');
  const ca = caFile ? ` --certificate-authority ${shown(caFile)}` : '';
  const source = secretsFile ? `source ${shown(secretsFile)} && ` : '';
  log(`flotilla CLI: ${source}npx flotilla login --server ${server} --token "$FLOTILLA_ADMIN_TOKEN"${ca}`);
}

main().catch((error) => fail(error instanceof Error ? error.message : String(error)));
