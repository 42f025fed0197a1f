import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { PrivateDeps } from './private-deps';

/** The services (as @flotilla/testing names them). */
export type PlatformService = 'registry' | 'provider-import' | 'health-probe' | 'federation-sync' | 'gateway';

/** What this file uses of @flotilla/testing's ServiceProcess and PlatformEnv (helpers outside spec files may not import the test kit). */
export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<number | null>;
}
export interface PlatformEnv {
  queuePrefix: string;
  adminToken: string;
  ports: Record<'gatewayHttp' | 'registryHttp' | 'importHttp' | 'probeHttp' | 'syncHttp', number>;
  env(service: PlatformService): NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

/** The @flotilla/testing functions the platform is started with, passed in by the spec. */
export interface PlatformKit {
  preparePlatformEnv(): Promise<PlatformEnv>;
  startPlatformProcesses(platform: PlatformEnv, extraEnv: Partial<Record<PlatformService, NodeJS.ProcessEnv>>): Promise<Record<PlatformService, ServiceProcess>>;
  startServiceProcess(name: string, env: NodeJS.ProcessEnv, httpPort: number): Promise<ServiceProcess>;
}

/** A REST answer: the status and the JSON body (`{}` when there is none). */
export interface RestAnswer {
  status: number;
  json: { items?: unknown[]; [field: string]: unknown };
}

const HTTP_PORT: Record<PlatformService, keyof PlatformEnv['ports']> = {
  registry: 'registryHttp',
  'provider-import': 'importHttp',
  'health-probe': 'probeHttp',
  'federation-sync': 'syncHttp',
  gateway: 'gatewayHttp',
};

/** Every service as its own process, on the test's private Postgres and Redis. */
export interface FaultPlatform {
  env: PlatformEnv;
  procs: Record<PlatformService, ServiceProcess>;
  /** Starts a service again (after it was killed) with the same environment and ports. */
  restart(name: PlatformService): Promise<ServiceProcess>;
  /** Every process's output so far, killed ones included. */
  outputs(): { name: string; output: string }[];
  /** Notes a step of the scenario, with the time, for the post-mortem (FAULTS_LOG_DIR). */
  mark(step: string): void;
  /** GET/POST on the REST API as the admin, bounded in time; throws on no answer. */
  rest(method: string, path: string, body?: unknown): Promise<RestAnswer>;
  stop(): Promise<void>;
}

export async function startFaultPlatform(kit: PlatformKit, deps: PrivateDeps, extraEnv: Partial<Record<PlatformService, NodeJS.ProcessEnv>>): Promise<FaultPlatform> {
  const { preparePlatformEnv, startPlatformProcesses, startServiceProcess } = kit;
  const env = await preparePlatformEnv();
  const envOf = (name: PlatformService): NodeJS.ProcessEnv => ({
    ...extraEnv[name],
    REDIS_URL: deps.redisUrl,
    ...(name === 'registry' ? { DATABASE_URL: deps.databaseUrl } : {}),
  });
  const names = Object.keys(HTTP_PORT) as PlatformService[];
  const retired: ServiceProcess[] = [];
  const timeline: string[] = [];
  const procs = await startPlatformProcesses(env, Object.fromEntries(names.map((n) => [n, envOf(n)])));
  return {
    env,
    procs,
    async restart(name) {
      retired.push(procs[name]);
      procs[name] = await startServiceProcess(name, { ...env.env(name), ...envOf(name) }, env.ports[HTTP_PORT[name]]);
      return procs[name];
    },
    outputs: () => [...retired, ...Object.values(procs)].map((p) => ({ name: p.name, output: p.output() })),
    mark: (step) => void timeline.push(`${new Date().toISOString()} ${step}`),
    async rest(method, path, body) {
      const res = await fetch(`http://127.0.0.1:${env.ports.gatewayHttp}${path}`, {
        method,
        headers: { authorization: `Bearer ${env.adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      return { status: res.status, json: (await res.json().catch(() => ({}))) as RestAnswer['json'] };
    },
    async stop() {
      await Promise.all(Object.values(procs).map((p) => p.stop()));
      // FAULTS_LOG_DIR=<dir>: every process's output, killed ones included, for a post-mortem.
      const dir = process.env.FAULTS_LOG_DIR;
      if (dir) {
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'timeline.log'), `${timeline.join('\n')}\n`);
        for (const [i, p] of [...retired, ...Object.values(procs)].entries()) writeFileSync(join(dir, `${i}-${p.name}.log`), p.output());
      }
      await env.cleanup();
    },
  };
}
