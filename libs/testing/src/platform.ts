import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createTestDatabase, freePort, randomEncryptionKeys, randomSecret, testQueuePrefix, TEST_REDIS_URL, TestDatabase } from './databases';
import { eventually } from './eventually';

export const WORKSPACE_ROOT = join(__dirname, '..', '..', '..');

export interface PlatformEnv {
  db: TestDatabase;
  queuePrefix: string;
  adminToken: string;
  internalToken: string;
  encryptionKeys: string;
  ports: Record<'gatewayHttp' | 'gatewayGrpc' | 'registryHttp' | 'registryGrpc' | 'importHttp' | 'importGrpc' | 'probeHttp' | 'probeGrpc' | 'syncHttp' | 'syncGrpc', number>;
  env(service: 'gateway' | 'registry' | 'provider-import' | 'health-probe' | 'federation-sync'): NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

/** A throw-away database, queue prefix, secrets and free ports for one test file's platform. */
export async function preparePlatformEnv(): Promise<PlatformEnv> {
  const db = await createTestDatabase();
  const queue = testQueuePrefix();
  const names = ['gatewayHttp', 'gatewayGrpc', 'registryHttp', 'registryGrpc', 'importHttp', 'importGrpc', 'probeHttp', 'probeGrpc', 'syncHttp', 'syncGrpc'] as const;
  const ports = {} as PlatformEnv['ports'];
  for (const n of names) ports[n] = await freePort();
  const adminToken = randomSecret();
  const internalToken = randomSecret();
  const encryptionKeys = randomEncryptionKeys();
  const common = {
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    REDIS_URL: TEST_REDIS_URL,
    FLOTILLA_QUEUE_PREFIX: queue.prefix,
    REGISTRY_GRPC_URL: `127.0.0.1:${ports.registryGrpc}`,
    SHUTDOWN_TIMEOUT_MS: '10000',
  };
  return {
    db,
    queuePrefix: queue.prefix,
    adminToken,
    internalToken,
    encryptionKeys,
    ports,
    env(service) {
      switch (service) {
        case 'registry':
          return { ...common, DATABASE_URL: db.url, HTTP_PORT: String(ports.registryHttp), GRPC_PORT: String(ports.registryGrpc), FLOTILLA_INTERNAL_TOKEN: internalToken, FLOTILLA_ENCRYPTION_KEYS: encryptionKeys, WATCH_POLL_MS: '200' };
        case 'gateway':
          return { ...common, PORT: String(ports.gatewayHttp), GRPC_PORT: String(ports.gatewayGrpc), FLOTILLA_ADMIN_TOKEN: adminToken };
        case 'provider-import':
          return { ...common, HTTP_PORT: String(ports.importHttp), GRPC_PORT: String(ports.importGrpc), FLOTILLA_INTERNAL_TOKEN: internalToken };
        case 'health-probe':
          return { ...common, HTTP_PORT: String(ports.probeHttp), GRPC_PORT: String(ports.probeGrpc), FLOTILLA_INTERNAL_TOKEN: internalToken };
        case 'federation-sync':
          return { ...common, HTTP_PORT: String(ports.syncHttp), GRPC_PORT: String(ports.syncGrpc), FLOTILLA_INTERNAL_TOKEN: internalToken };
      }
    },
    async cleanup() {
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

/** Starts a built service (dist/) as its own process and waits for its /readyz. */
export async function startServiceProcess(name: string, env: NodeJS.ProcessEnv, httpPort: number): Promise<ServiceProcess> {
  const entry = join(WORKSPACE_ROOT, 'dist/services', name, 'src/main.js');
  const child = spawn(process.execPath, [entry], { cwd: WORKSPACE_ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${out}`);
      const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
      if (res.status !== 200) throw new Error(`${name} not ready: ${await res.text()}`);
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
