import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { eventually } from './eventually';
import { ReadinessOptions, WORKSPACE_ROOT, readyz } from './platform';

export interface SourceProcess {
  child: ChildProcess;
  output(): string;
  /** SIGTERM and wait (graceful), unless it is gone already. */
  stop(): Promise<void>;
  /** SIGKILL: a crash, no graceful shutdown. */
  kill(): void;
}

/**
 * Runs a service from its TypeScript sources (services/<name>/src/main.ts through
 * @swc-node/register) as its own process, and waits for its /readyz. Tests use it to run
 * other services without importing them, and to kill a replica like a crashed pod.
 * (startServiceProcess runs the built service from dist/ instead.) `options.https` waits for
 * /readyz over HTTPS, for a gateway given FLOTILLA_GATEWAY_TLS_CERT.
 */
export async function startSourceProcess(service: string, env: NodeJS.ProcessEnv, httpPort: number, options: ReadinessOptions = {}): Promise<SourceProcess> {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', join(WORKSPACE_ROOT, 'services', service, 'src/main.ts')], {
    cwd: WORKSPACE_ROOT,
    env: { PATH: process.env.PATH, SWC_NODE_PROJECT: join(WORKSPACE_ROOT, 'tsconfig.json'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const alive = () => child.exitCode === null && child.signalCode === null;
  await eventually(
    async () => {
      if (!alive()) throw new Error(`${service} exited: ${out}`);
      const res = await readyz(httpPort, options);
      if (res.status !== 200) throw new Error(`${service} not ready: ${res.body}`);
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    child,
    output: () => out,
    async stop() {
      if (alive()) child.kill('SIGTERM');
      await exited;
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}
