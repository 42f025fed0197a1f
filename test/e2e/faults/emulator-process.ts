import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const WORKSPACE_ROOT = join(__dirname, '..', '..', '..');

export interface EmulatedMember {
  name: string;
  flavour: string;
  server: string;
  version: string;
  kubeSystemUid: string;
  /** The admin kubeconfig the emulator wrote. */
  adminKubeconfig(): string;
}

/** `npm run kube-emulator` as its own process, driven through its control endpoint (docs/kube-emulator.md). */
export interface EmulatorProcess {
  members: EmulatedMember[];
  /** POST /clusters/<name>/<action> on the control endpoint. */
  control(name: string, action: string, body?: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

export async function startEmulatorProcess(clusters: number): Promise<EmulatorProcess> {
  const out = mkdtempSync(join(tmpdir(), 'flotilla-faults-emu-'));
  const child: ChildProcess = spawn(process.execPath, [join(WORKSPACE_ROOT, 'tools/kube-emulator.mjs'), '--clusters', String(clusters), '--out', out], {
    cwd: WORKSPACE_ROOT,
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(out, { recursive: true, force: true });
  };
  // The launcher writes clusters.json whole (renamed into place), then prints its ready line.
  let index: { control: string; clusters: (Omit<EmulatedMember, 'adminKubeconfig'> & { dir: string })[] } | undefined;
  for (const until = Date.now() + 60_000; !index; await new Promise((r) => setTimeout(r, 100))) {
    const failure = child.exitCode !== null ? `exited with ${child.exitCode}` : Date.now() > until ? 'not ready within 60 s' : undefined;
    if (failure) {
      await stop();
      throw new Error(`kube-emulator ${failure}: ${output}`);
    }
    if (output.includes('kube-emulator ready')) index = JSON.parse(readFileSync(join(out, 'clusters.json'), 'utf8'));
  }
  return {
    members: index.clusters.map(({ dir, ...m }) => ({ ...m, adminKubeconfig: () => readFileSync(join(dir, 'admin.kubeconfig'), 'utf8') })),
    async control(name, action, body) {
      const res = await fetch(`${index.control}/clusters/${name}/${action}`, { method: 'POST', body: JSON.stringify(body ?? {}), signal: AbortSignal.timeout(10_000) });
      if (res.status !== 200) throw new Error(`kube-emulator ${action} on ${name}: ${res.status} ${await res.text()}`);
    },
    stop,
  };
}
