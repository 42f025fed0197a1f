import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, freePort, randomEncryptionKeys, randomSecret, testQueuePrefix, TEST_REDIS_URL, TestDatabase } from './databases';
import { eventually } from './eventually';

export const WORKSPACE_ROOT = join(__dirname, '..', '..', '..');

/** The internal identities a test platform gives tokens (and, under mTLS, certificates) to. */
export const PLATFORM_IDENTITIES = ['gateway', 'registry', 'provider-import', 'health-probe', 'federation-sync', 'operator'] as const;
export type PlatformIdentity = (typeof PLATFORM_IDENTITIES)[number];

/** Internal mTLS material of a test platform: one CA, one certificate per identity. */
export interface PlatformTls {
  dir: string;
  ca: string;
  files(identity: PlatformIdentity): { ca: string; cert: string; key: string };
  /** Reissues an identity's certificate under the same CA (a renewal), in place. */
  renew(identity: PlatformIdentity, days?: number): void;
}

/** Runs tools/dev-pki.mjs (the same generator `npm start` uses with FLOTILLA_INTERNAL_TLS=true). */
export function makeDevPki(dir: string, identities: readonly string[], options: { days?: number; renew?: boolean } = {}): void {
  const args = [join(WORKSPACE_ROOT, 'tools/dev-pki.mjs'), dir, ...identities, '--days', String(options.days ?? 90), ...(options.renew ? ['--renew'] : [])];
  execFileSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface PlatformEnv {
  db: TestDatabase;
  queuePrefix: string;
  adminToken: string;
  /**
   * The operator identity's token (tools and test harnesses): it may call every declared internal
   * method. Services each have their own identity and token (`tokens`).
   */
  internalToken: string;
  /** Each internal identity's FLOTILLA_INTERNAL_TOKEN. */
  tokens: Record<PlatformIdentity, string>;
  /** FLOTILLA_INTERNAL_CALLERS as every service gets it. */
  callers: string;
  /** Set when prepared with `{ internalTls: true }`. */
  tls?: PlatformTls;
  /**
   * Set when prepared with `{ gatewayTls: true }`: the gateway serves HTTPS (its health too) with a
   * certificate for 127.0.0.1 and localhost from this development CA (PEM file paths).
   */
  gatewayTls?: { ca: string; cert: string; key: string };
  /** The gateway's base URL: https://127.0.0.1:<port> with `gatewayTls`, else http://. */
  gatewayUrl: string;
  encryptionKeys: string;
  ports: Record<'gatewayHttp' | 'gatewayGrpc' | 'registryHttp' | 'registryGrpc' | 'importHttp' | 'importGrpc' | 'probeHttp' | 'probeGrpc' | 'syncHttp' | 'syncGrpc', number>;
  env(service: 'gateway' | 'registry' | 'provider-import' | 'health-probe' | 'federation-sync'): NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

/**
 * A throw-away database, queue prefix, secrets and free ports for one test file's platform: each
 * service gets its own internal token, and every server the callers list of all of them. With
 * `internalTls`, a CA and a certificate per identity in a temporary folder, and mTLS on. With
 * `gatewayTls`, the gateway serves HTTPS (as `npm start` does; kubectl sends a token only over
 * HTTPS) from a development CA of its own: startPlatformProcesses waits for it over HTTPS.
 */
export async function preparePlatformEnv(options: { internalTls?: boolean; gatewayTls?: boolean } = {}): Promise<PlatformEnv> {
  const db = await createTestDatabase();
  const queue = testQueuePrefix();
  const names = ['gatewayHttp', 'gatewayGrpc', 'registryHttp', 'registryGrpc', 'importHttp', 'importGrpc', 'probeHttp', 'probeGrpc', 'syncHttp', 'syncGrpc'] as const;
  const ports = {} as PlatformEnv['ports'];
  for (const n of names) ports[n] = await freePort();
  const adminToken = randomSecret();
  const tokens = Object.fromEntries(PLATFORM_IDENTITIES.map((id) => [id, randomSecret()])) as Record<PlatformIdentity, string>;
  const callers = PLATFORM_IDENTITIES.map((id) => `${id}:${createHash('sha256').update(tokens[id]).digest('hex')}`).join(',');
  const encryptionKeys = randomEncryptionKeys();
  let tls: PlatformTls | undefined;
  if (options.internalTls) {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-pki-'));
    makeDevPki(dir, PLATFORM_IDENTITIES);
    const files = (identity: PlatformIdentity) => ({ ca: join(dir, 'ca.crt'), cert: join(dir, `${identity}.crt`), key: join(dir, `${identity}.key`) });
    tls = { dir, ca: join(dir, 'ca.crt'), files, renew: (identity, days) => makeDevPki(dir, [identity], { days, renew: true }) };
  }
  let gatewayTls: PlatformEnv['gatewayTls'];
  let gatewayPkiDir: string | undefined;
  if (options.gatewayTls) {
    gatewayPkiDir = mkdtempSync(join(tmpdir(), 'flotilla-gateway-pki-'));
    makeDevPki(gatewayPkiDir, ['gateway']);
    gatewayTls = { ca: join(gatewayPkiDir, 'ca.crt'), cert: join(gatewayPkiDir, 'gateway.crt'), key: join(gatewayPkiDir, 'gateway.key') };
  }
  // The registry calls no other service, so it gets no token of its own to send.
  const identityEnv = (identity: PlatformIdentity): NodeJS.ProcessEnv => ({
    ...(identity === 'registry' ? {} : { FLOTILLA_INTERNAL_TOKEN: tokens[identity] }),
    FLOTILLA_INTERNAL_CALLERS: callers,
    ...(tls
      ? {
          FLOTILLA_INTERNAL_TLS: 'true',
          FLOTILLA_INTERNAL_TLS_CA: tls.files(identity).ca,
          FLOTILLA_INTERNAL_TLS_CERT: tls.files(identity).cert,
          FLOTILLA_INTERNAL_TLS_KEY: tls.files(identity).key,
          FLOTILLA_INTERNAL_TLS_RELOAD_MS: '200',
        }
      : {}),
  });
  const common = {
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    REDIS_URL: TEST_REDIS_URL,
    FLOTILLA_QUEUE_PREFIX: queue.prefix,
    REGISTRY_GRPC_URL: `127.0.0.1:${ports.registryGrpc}`,
    SHUTDOWN_TIMEOUT_MS: '10000',
    // Emulated members listen on 127.0.0.1: the member address policy refuses loopback otherwise.
    FLOTILLA_ALLOW_LOOPBACK_MEMBERS: 'true',
  };
  return {
    db,
    queuePrefix: queue.prefix,
    adminToken,
    internalToken: tokens.operator,
    tokens,
    callers,
    tls,
    gatewayTls,
    gatewayUrl: `${gatewayTls ? 'https' : 'http'}://127.0.0.1:${ports.gatewayHttp}`,
    encryptionKeys,
    ports,
    env(service) {
      switch (service) {
        case 'registry':
          return { ...common, ...identityEnv(service), DATABASE_URL: db.url, HTTP_PORT: String(ports.registryHttp), GRPC_PORT: String(ports.registryGrpc), FLOTILLA_ENCRYPTION_KEYS: encryptionKeys, WATCH_POLL_MS: '200' };
        case 'gateway':
          return {
            ...common,
            ...identityEnv(service),
            PORT: String(ports.gatewayHttp),
            GRPC_PORT: String(ports.gatewayGrpc),
            PROVIDER_IMPORT_GRPC_URL: `127.0.0.1:${ports.importGrpc}`,
            FLOTILLA_ADMIN_TOKEN: adminToken,
            ...(gatewayTls ? { FLOTILLA_GATEWAY_TLS_CERT: gatewayTls.cert, FLOTILLA_GATEWAY_TLS_KEY: gatewayTls.key, FLOTILLA_GATEWAY_TLS_CA: gatewayTls.ca } : {}),
          };
        case 'provider-import':
          return { ...common, ...identityEnv(service), HTTP_PORT: String(ports.importHttp), GRPC_PORT: String(ports.importGrpc) };
        case 'health-probe':
          return { ...common, ...identityEnv(service), HTTP_PORT: String(ports.probeHttp), GRPC_PORT: String(ports.probeGrpc) };
        case 'federation-sync':
          return { ...common, ...identityEnv(service), HTTP_PORT: String(ports.syncHttp), GRPC_PORT: String(ports.syncGrpc) };
      }
    },
    async cleanup() {
      if (tls) rmSync(tls.dir, { recursive: true, force: true });
      if (gatewayPkiDir) rmSync(gatewayPkiDir, { recursive: true, force: true });
      await queue.cleanup();
      await db.drop();
    },
  };
}

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** How to reach a service's /readyz: plain HTTP by default; `https` (trusting `ca`, a PEM file) when it serves TLS on that port. */
export interface ReadinessOptions {
  https?: { ca: string };
}

/**
 * GET http(s)://127.0.0.1:<port>/readyz once: its status and body (bounded: 64 KiB, 5 s). Over
 * HTTPS the certificate must verify against `https.ca` for 127.0.0.1.
 */
export async function readyz(port: number, options: ReadinessOptions = {}): Promise<{ status: number; body: string }> {
  if (!options.https) {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5000) });
    return { status: res.status, body: (await res.text()).slice(0, 65536) };
  }
  const ca = readFileSync(options.https.ca);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', method: 'GET', ca, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < 65536) body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.slice(0, 65536) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`https://127.0.0.1:${port}/readyz did not answer in 5 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** Starts a built service (dist/) as its own process and waits for its /readyz (over HTTPS with `options.https`). */
export async function startServiceProcess(name: string, env: NodeJS.ProcessEnv, httpPort: number, options: ReadinessOptions = {}): Promise<ServiceProcess> {
  const entry = join(WORKSPACE_ROOT, 'dist/services', name, 'src/main.js');
  const child = spawn(process.execPath, [entry], { cwd: WORKSPACE_ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${out}`);
      const res = await readyz(httpPort, options);
      if (res.status !== 200) throw new Error(`${name} not ready: ${res.body}`);
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    name,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export type PlatformService = 'registry' | 'provider-import' | 'health-probe' | 'federation-sync' | 'gateway';

/**
 * Builds dist/ (what service processes run) and starts every service as its own process: the
 * registry first, then the others together once it is ready. `extraEnv` adds variables per
 * service (tuning, log level) on top of the platform's. A platform prepared with `gatewayTls`
 * gets its gateway on HTTPS (platform.gatewayUrl), waited for over HTTPS.
 */
export async function startPlatformProcesses(
  platform: PlatformEnv,
  extraEnv: Partial<Record<PlatformService, NodeJS.ProcessEnv>> = {},
): Promise<Record<PlatformService, ServiceProcess>> {
  execFileSync(process.execPath, [join(WORKSPACE_ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: WORKSPACE_ROOT, stdio: 'pipe' });
  execFileSync(process.execPath, [join(WORKSPACE_ROOT, 'node_modules/tsc-alias/dist/bin/index.js'), '-p', 'tsconfig.build.json'], { cwd: WORKSPACE_ROOT, stdio: 'pipe' });
  const start = (name: PlatformService, port: number) =>
    startServiceProcess(name, { ...platform.env(name), ...extraEnv[name] }, port, name === 'gateway' && platform.gatewayTls ? { https: { ca: platform.gatewayTls.ca } } : {});
  const registry = await start('registry', platform.ports.registryHttp);
  const [providerImport, healthProbe, federationSync, gateway] = await Promise.all([
    start('provider-import', platform.ports.importHttp),
    start('health-probe', platform.ports.probeHttp),
    start('federation-sync', platform.ports.syncHttp),
    start('gateway', platform.ports.gatewayHttp),
  ]);
  return { registry, 'provider-import': providerImport, 'health-probe': healthProbe, 'federation-sync': federationSync, gateway };
}
