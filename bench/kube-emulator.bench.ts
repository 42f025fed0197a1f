/**
 * Capacity of the Kubernetes API emulator (libs/kube-emulator), bounded in time, 127.0.0.1 only:
 *  - requests/s for GET and for server-side apply on one virtual cluster,
 *  - memory per idle virtual cluster,
 *  - start-up time of 10,000 clusters.
 * Writes the "## kube-emulator" section of bench/RESULTS.md.
 * Run: SWC_NODE_PROJECT=tsconfig.json node -r @swc-node/register bench/kube-emulator.bench.ts [--quick]
 */
import { Agent, request } from 'node:https';
import { cpus, totalmem } from 'node:os';
import { spawn } from 'node:child_process';
import { KubeEmulator, type ClusterHandle } from '@flotilla/kube-emulator';
import { writeResultsSection } from './support/results-file';

const quick = process.argv.includes('--quick');
const RUNS = 3;
const DURATION_MS = quick ? 1000 : 3000;
const CONCURRENCY = 16;
const IDLE_CLUSTERS = quick ? 500 : 2000;
const STARTUP_CLUSTERS = quick ? 1000 : 10_000;

function call(agent: Agent, c: ClusterHandle, method: string, path: string, body?: string, contentType?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Authorization: `Bearer ${c.tokens.admin}`, Accept: 'application/json' };
    if (body !== undefined) {
      headers['Content-Type'] = contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const req = request(`${c.server}${path}`, { method, headers, agent, ca: c.caPem }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function throughput(c: ClusterHandle, op: (agent: Agent, i: number) => Promise<number>): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let done = 0;
  let failed = 0;
  const deadline = Date.now() + DURATION_MS;
  const start = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      let i = 0;
      while (Date.now() < deadline) {
        const code = await op(agent, w * 1_000_000 + i++);
        if (code >= 200 && code < 300) done++;
        else failed++;
      }
    }),
  );
  agent.destroy();
  if (failed) throw new Error(`${failed} requests failed`);
  return done / ((Date.now() - start) / 1000);
}

function stats(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const hasGc = (): boolean => typeof (globalThis as { gc?: unknown }).gc === 'function';

function memoryChild(n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, __filename, '--memory-child', String(n)], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`memory child exited ${code}`))));
  });
}

async function memoryChildMain(n: number): Promise<void> {
  // warm up the code paths with one cluster, then measure n more
  const warm = await KubeEmulator.start({ clusters: 1 });
  gc();
  const before = process.memoryUsage().rss;
  const e = await KubeEmulator.start({ clusters: n });
  gc();
  const after = process.memoryUsage().rss;
  process.stdout.write(`${(after - before) / n / 1024}\n`);
  await e.stop();
  await warm.stop();
}

async function main(): Promise<void> {
  const results: Array<{ name: string; unit: string; runs: number[] }> = [];

  // GET and apply on one cluster
  const emu = await KubeEmulator.start();
  const c = await emu.addCluster({ name: 'bench', flavour: 'eks' });
  await call(new Agent(), c, 'GET', '/api/v1/namespaces/default/configmaps'); // materialise the store
  const get: number[] = [];
  const apply: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    get.push(await throughput(c, (a) => call(a, c, 'GET', '/api/v1/namespaces/kube-system/configmaps/aws-auth')));
    apply.push(
      await throughput(c, (a, i) =>
        call(a, c, 'PATCH', `/api/v1/namespaces/default/configmaps/bench-${i % 64}?fieldManager=bench&force=true`, `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bench-${i % 64}\n  namespace: default\ndata:\n  n: "${i}"\n`, 'application/apply-patch+yaml'),
      ),
    );
  }
  await emu.stop();
  results.push({ name: 'GET configmap, one cluster, 16 concurrent keep-alive connections', unit: 'req/s', runs: get });
  results.push({ name: 'server-side apply (PATCH apply-patch+yaml) of a configmap, one cluster, 16 concurrent', unit: 'req/s', runs: apply });

  // memory per idle cluster: each run in a fresh process (RSS is not given back after stop)
  const mem: number[] = [];
  for (let r = 0; r < RUNS; r++) mem.push(await memoryChild(IDLE_CLUSTERS));
  results.push({ name: `RSS per idle virtual cluster (${IDLE_CLUSTERS} started, listening, never contacted; fresh process per run)`, unit: 'KiB', runs: mem });

  // start-up of 10,000 clusters
  const startup: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    gc();
    const t0 = Date.now();
    const e = await KubeEmulator.start({ clusters: STARTUP_CLUSTERS });
    startup.push((Date.now() - t0) / 1000);
    await e.stop();
  }
  results.push({ name: `start-up of ${STARTUP_CLUSTERS} clusters (CA + serving cert each, listening)`, unit: 's', runs: startup });

  const date = new Date().toISOString().slice(0, 10);
  const machine = `${cpus().length} cores (nproc), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, shared/noisy host`;
  const cmd = `SWC_NODE_PROJECT=tsconfig.json node ${hasGc() ? '--expose-gc ' : ''}-r @swc-node/register bench/kube-emulator.bench.ts${quick ? ' --quick' : ''}`;
  const lines = [
    '## kube-emulator',
    '',
    '### Kubernetes API emulator',
    '',
    `Date: ${date}. Machine: ${machine}.`,
    `Command: \`${cmd}\` (${RUNS} runs each; ${DURATION_MS / 1000} s per throughput run; ${hasGc() ? 'with' : 'without'} --expose-gc).`,
    '',
    '| measure | unit | median | min | max | runs |',
    '|---|---|---|---|---|---|',
    ...results.map((r) => {
      const s = stats(r.runs);
      const f = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(2));
      return `| ${r.name} | ${r.unit} | ${f(s.median)} | ${f(s.min)} | ${f(s.max)} | ${r.runs.map(f).join(', ')} |`;
    }),
    '',
    'Client and emulator share the same process and the same 2 cores, so the throughput figures are a lower bound of what a separate client would see.',
    '',
  ];
  const section = lines.join('\n');
  process.stdout.write(`${section}\n`);
  writeResultsSection('kube-emulator', section);
}

const childIdx = process.argv.indexOf('--memory-child');
(childIdx >= 0 ? memoryChildMain(Number(process.argv[childIdx + 1])) : main()).catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
