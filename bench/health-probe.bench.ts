/**
 * health-probe at fleet scale. Writes (or updates) the "## health-probe" section of bench/RESULTS.md.
 *
 *   SWC_NODE_PROJECT=tsconfig.json node -r @swc-node/register bench/health-probe.bench.ts \
 *     --clusters 10000 [--steady 60] [--downs 100] [--blips 200]
 *
 * Everything runs on 127.0.0.1, each part in its own process so its CPU and RSS can be read:
 * - the Kubernetes API emulator, split over two processes (the fd limit is 20000 per process
 *   and each virtual cluster needs a listening socket plus the probe's connection);
 * - the registry (from source) on the real Postgres and Redis;
 * - ONE health-probe replica (from source) with the defaults: 10 s interval, 3 failures to flip,
 *   1 s first retry backoff.
 * Measured first, as figures of their own (issue 13): the **cold start**, from the moment the replica's
 * process is spawned until every cluster's probe time is in the registry (each first probe also
 * writes the cluster's status: version, nodes, zones), and a **restart** (the replica stops with
 * SIGTERM and a new one starts with the whole fleet, statuses already written); with the clusters
 * probed 10, 20 and 30 s after spawn and the CPU seconds every process spent meanwhile.
 * `--cold-only` stops there (no RESULTS.md); `--profile DIR` writes V8 CPU profiles of the replicas
 * (DIR/cold, DIR/restart), the registry (DIR/registry) and the emulator processes (DIR/emulator-0,
 * DIR/emulator-1); `--logs DIR` keeps every process's whole output there (one file per process).
 * Then: the replica's CPU (% of one core) and RSS while it holds every cluster at the interval,
 * how fresh every cluster's last probe is, single failed probes injected on `--blips` clusters
 * (5 % error rate on /readyz) and the flips they caused (must be 0), and, after `--downs` members
 * are made unreachable one by one, the time until the registry shows Ready=False (p50, p99); then
 * `--hangs` members (default 5 %) hang for 30 s: how fresh the other clusters' probes stay.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { CLUSTER_API_VERSION, Cluster, findCondition } from '@flotilla/domain';
import { RegistryClient } from '@flotilla/clients';
import { probeTimesKey } from '../services/registry/src/probe-times/probe-times.repository';
import { PlatformEnv, TEST_REDIS_URL, WORKSPACE_ROOT, descendantPids, eventually, freePort, preparePlatformEnv } from '@flotilla/testing';
import { pool } from './support/pool';

const argv = process.argv.slice(2);
function argText(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}
const arg = (name: string, def: number) => {
  const text = argText(name);
  return text !== undefined ? Number(text) : def;
};
const CLUSTERS = arg('clusters', 1000);
const STEADY_S = arg('steady', 60);
const DOWNS = arg('downs', 100);
const BLIPS = arg('blips', Math.min(200, Math.floor(CLUSTERS / 10)));
const RUNS = arg('runs', 1);
const HANGS = arg('hangs', Math.floor(CLUSTERS / 20));
const HANG_S = 30;
/** `--concurrency N`: PROBE_CONCURRENCY for the replica (default: the service's default). */
const CONCURRENCY = argText('concurrency');
/** `--workers N`: PROBE_WORKERS for the replica (default: the service's default, probes on the main loop). */
const WORKERS = argText('workers');
/** `--profile DIR`: the replicas, the registry and the emulators write V8 CPU profiles there when they exit (for finding where the CPU goes). */
const PROFILE_DIR = argText('profile');
/** `--logs DIR`: every process's whole output, one file per process (the bench keeps only the tail). */
const LOGS_DIR = argText('logs');
/** `--cold-only`: stop after the cold start and the restart (no steady state; RESULTS.md is not written). */
const COLD_ONLY = argv.includes('--cold-only');
/** The cold-start goal (issue 13): every cluster probed once within this after the replica starts. */
const COLD_GOAL_S = 30;
/** How long the bench waits for a cold start before it gives up (and reports how far it got). */
const COLD_TIMEOUT_S = arg('cold-timeout', 300);
const INTERVAL_MS = 10_000;
let leftOut = 0;

interface Proc {
  child: ChildProcess;
  out: () => string;
}

function run(args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = []): Proc {
  const child = spawn(process.execPath, [...nodeArgs, '-r', '@swc-node/register', ...args], {
    cwd: WORKSPACE_ROOT,
    // The bench's own SWC_NODE_PROJECT (the repository's tsconfig.json unless told otherwise).
    env: { PATH: process.env.PATH, SWC_NODE_PROJECT: process.env.SWC_NODE_PROJECT ? resolve(process.env.SWC_NODE_PROJECT) : join(WORKSPACE_ROOT, 'tsconfig.json'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const file = LOGS_DIR ? (mkdirSync(LOGS_DIR, { recursive: true }), createWriteStream(join(LOGS_DIR, `${child.pid}-${args[0]!.split('/').slice(-3).join('_')}.log`))) : undefined;
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
    file?.write(d);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.once('exit', () => file?.end());
  return { child, out: () => out };
}

/** utime+stime in seconds and RSS in MiB of a process and its descendants (a replica's probe workers, ADR 0040), from /proc. */
function usage(pid: number): { cpuS: number; rssMiB: number } {
  let cpuS = 0;
  let rssMiB = 0;
  for (const p of [pid, ...descendantPids(pid)]) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      cpuS += (Number(fields[11]) + Number(fields[12])) / 100;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      rssMiB += Number(rss?.[1] ?? 0) / 1024;
    } catch {
      // exited meanwhile
    }
  }
  return { cpuS, rssMiB };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
};

async function metric(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && l.includes(labels))
    .reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}

async function metricLines(url: string, name: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new Map<string, number>();
  for (const l of text.split('\n')) if (l.startsWith(`${name}{`)) m.set(l.slice(0, l.lastIndexOf(' ')), Number(l.split(' ').pop()));
  return m;
}

/** Quantile of a Prometheus histogram between two scrapes, as the upper bound of the bucket it falls in. */
function histogramQuantile(before: Map<string, number>, after: Map<string, number>, q: number): number {
  const buckets = [...after.entries()]
    .map(([k, v]) => ({ le: /le="([^"]+)"/.exec(k)?.[1] ?? '', n: v - (before.get(k) ?? 0) }))
    .filter((b) => b.le)
    .map((b) => ({ le: b.le === '+Inf' ? Infinity : Number(b.le), n: b.n }))
    .sort((a, b) => a.le - b.le);
  const total = buckets[buckets.length - 1]?.n ?? 0;
  return buckets.find((b) => b.n >= q * total)?.le ?? NaN;
}

function diffLines(before: Map<string, number>, after: Map<string, number>): string {
  const parts: string[] = [];
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) parts.push(`${k.replace(/^[^{]*\{/, '').replace(/,?service="[^"]*"/, '').replace(/\}$/, '')}: ${d}`);
  }
  return parts.join('; ') || 'none';
}

async function runOnce(): Promise<Result> {
  const started = Date.now();
  const out = mkdtempSync(join(tmpdir(), 'flotilla-probe-bench-'));
  const procs: Proc[] = [];
  let platform: PlatformEnv | undefined;
  let client: RegistryClient | undefined;
  let redis: Redis | undefined;
  try {
    // 1. Emulated members, in two processes.
    // 2 % spare: clusters with unusable generated TLS material are left out (see support/probe-emulator-host.ts).
    const halves = [Math.ceil(CLUSTERS / 2), Math.floor(CLUSTERS / 2)].filter((n) => n > 0).map((n) => Math.ceil(n * 1.02) + 2);
    const emus = await Promise.all(
      halves.map(async (n, i) => {
        const dir = join(out, `emu-${i}`);
        const p = run([join(WORKSPACE_ROOT, 'bench/support/probe-emulator-host.ts'), '--clusters', String(n), '--out', dir], {}, PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', join(PROFILE_DIR, `emulator-${i}`)] : []);
        procs.push(p);
        await eventually(() => {
          if (p.child.exitCode !== null) throw new Error(`emulator exited: ${p.out()}`);
          if (!existsSync(join(dir, 'clusters.json'))) throw new Error('not ready');
        }, { timeoutMs: 600_000, intervalMs: 500 });
        const index = JSON.parse(readFileSync(join(dir, 'clusters.json'), 'utf8')) as { control: string; left_out: number; clusters: { name: string; kubeconfig: string; kubeSystemUid: string }[] };
        return { prefix: `e${i}`, proc: p, ...index };
      }),
    );
    process.stdout.write(`emulators ready (${CLUSTERS} clusters) after ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

    // 2. Registry, and every member registered as imported (Initialized=True, Ready=True, uid).
    platform = await preparePlatformEnv();
    const registry = run([join(WORKSPACE_ROOT, 'services/registry/src/main.ts')], { ...platform.env('registry'), LOG_LEVEL: 'info' }, PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', join(PROFILE_DIR, 'registry')] : []);
    procs.push(registry);
    await eventually(async () => expect200(await fetch(`http://127.0.0.1:${platform!.ports.registryHttp}/readyz`)), { timeoutMs: 60_000, intervalMs: 300 });
    client = new RegistryClient(`127.0.0.1:${platform.ports.registryGrpc}`, platform.internalToken);
    const members = emus
      .flatMap((e) => e.clusters.map((c) => ({ name: `${e.prefix}-${c.name}`, emu: c.name, control: e.control, kubeconfig: c.kubeconfig, uid: c.kubeSystemUid })))
      .slice(0, CLUSTERS);
    leftOut = emus.reduce((s, e) => s + e.left_out, 0);
    if (members.length < CLUSTERS) throw new Error(`only ${members.length} usable emulated clusters`);
    await pool(members, 32, async (m) => {
      const c: Cluster = { apiVersion: CLUSTER_API_VERSION, kind: 'Cluster', metadata: { name: m.name }, spec: { connection: { type: 'direct', kubeconfig: m.kubeconfig } } };
      await client!.createCluster(c);
      await client!.updateClusterStatus(m.name, { uid: m.uid, conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True', reason: 'ClusterReady' }] });
    });
    process.stdout.write(`registered after ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

    // 3. One health-probe replica with the default probe settings. Its cold start is measured from
    //    the moment its process is spawned until every cluster's probe time is in the registry's
    //    hash (flushed each second, so the figure includes up to 1 s of batching).
    const lastKey = probeTimesKey(platform.queuePrefix);
    redis = new Redis(TEST_REDIS_URL);
    const first = await startReplica(platform, redis, lastKey, procs, 'cold', members.map((m) => m.name));
    const warm = (Date.now() - started) / 1000;
    process.stdout.write(`cold start: every cluster probed once ${first.cold.toFixed(1)} s after the replica was spawned (${first.fromReady.toFixed(1)} s after it was ready); progress ${first.progress}\n`);

    // 3b. A restart: the replica stops (SIGTERM: it leaves the membership set at once) and a new one
    //     starts with the whole fleet, whose statuses are now written (no first status writes).
    await stopProc(first.proc);
    procs.splice(procs.indexOf(first.proc), 1);
    await redis.del(lastKey);
    const second = await startReplica(platform, redis, lastKey, procs, 'restart', members.map((m) => m.name));
    process.stdout.write(`restart: every cluster probed once ${second.cold.toFixed(1)} s after the new replica was spawned (${second.fromReady.toFixed(1)} s after it was ready); progress ${second.progress}\n`);
    const probeUrl = second.url;
    const probe = second.proc;
    if (COLD_ONLY) return { ...emptyResult(), warm, cold: first.cold, coldFromReady: first.fromReady, coldProgress: first.progress, restart: second.cold, restartProgress: second.progress, coldRss: first.rssPeak, restartRss: second.rssPeak };
    await sleep(INTERVAL_MS);

    // 4. Steady state, with single failed probes injected on BLIPS clusters.
    const blipMembers = members.slice(0, BLIPS);
    await pool(blipMembers, 16, async (m) => void (await post(`${m.control}/clusters/${m.emu}/errors`, { pathPrefix: '/readyz', rate: 0.05, code: 500 })));
    const flipsBefore = await metric(probeUrl, 'flotilla_cluster_transitions_total');
    const transitionsBefore = await metricLines(probeUrl, 'flotilla_cluster_transitions_total');
    const durationBefore = await metricLines(probeUrl, 'flotilla_probe_duration_seconds_bucket');
    const resultsBefore = await metricLines(probeUrl, 'flotilla_probe_total');
    const failedBefore = await metric(probeUrl, 'flotilla_probe_total', 'result="not_ready"');
    const probesBefore = await metric(probeUrl, 'flotilla_probe_total');
    const u0 = usage(probe.child.pid!);
    const e0 = emus.map((e) => usage(e.proc.child.pid!));
    const t0 = Date.now();
    let rssPeak = u0.rssMiB;
    // Every 5 s through the window: the oldest last-probe time of any cluster, and how many are older
    // than the interval plus the 1 s flush of last-probe times (ADR 0021) plus 1 s of slack.
    const staleLimitS = INTERVAL_MS / 1000 + 2;
    const oldest: number[] = [];
    const stale: number[] = [];
    let tick = 0;
    while (Date.now() - t0 < STEADY_S * 1000) {
      await sleep(1000);
      const u = usage(probe.child.pid!);
      rssPeak = Math.max(rssPeak, u.rssMiB);
      if (++tick % 5 === 0) {
        const at = Date.now();
        const ages = Object.values(await redis.hgetall(lastKey)).map((t) => (at - Date.parse(t)) / 1000);
        oldest.push(Math.max(...ages));
        stale.push(ages.filter((a) => a > staleLimitS).length);
      }
    }
    const u1 = usage(probe.child.pid!);
    const e1 = emus.map((e) => usage(e.proc.child.pid!));
    const secs = (Date.now() - t0) / 1000;
    const cpuPct = ((u1.cpuS - u0.cpuS) / secs) * 100;
    const emuCpuPct = e1.reduce((s, u, i) => s + (u.cpuS - e0[i].cpuS), 0) / secs * 100;
    const probeRate = ((await metric(probeUrl, 'flotilla_probe_total')) - probesBefore) / secs;
    const singleFailures = (await metric(probeUrl, 'flotilla_probe_total', 'result="not_ready"')) - failedBefore;
    const flips = (await metric(probeUrl, 'flotilla_cluster_transitions_total')) - flipsBefore;
    const transitionKinds = diffLines(transitionsBefore, await metricLines(probeUrl, 'flotilla_cluster_transitions_total'));
    const resultKinds = diffLines(resultsBefore, await metricLines(probeUrl, 'flotilla_probe_total'));
    const durationAfter = await metricLines(probeUrl, 'flotilla_probe_duration_seconds_bucket');
    const probeP50 = histogramQuantile(durationBefore, durationAfter, 0.5);
    const probeP99 = histogramQuantile(durationBefore, durationAfter, 0.99);
    await pool(blipMembers, 16, async (m) => void (await post(`${m.control}/clusters/${m.emu}/clear-errors`, {})));
    process.stdout.write(`steady: cpu ${cpuPct.toFixed(1)} %, rss ${u1.rssMiB.toFixed(0)} MiB, ${probeRate.toFixed(0)} probes/s, single failures ${singleFailures}, flips ${flips} (${transitionKinds}); results: ${resultKinds}; probe duration p50 <= ${probeP50} s, p99 <= ${probeP99} s\n`);

    // 5. Members made unreachable one at a time, 100 ms apart; time until the registry says Ready=False.
    const victims = members.slice(BLIPS, BLIPS + DOWNS);
    const downAt = new Map<string, number>();
    const detected = new Map<string, number>();
    const watch = client.watchClusters().subscribe({
      next: (e) => {
        if (e.type === 'BOOKMARK') return;
        const c = e.object;
        const at = downAt.get(c.metadata.name);
        if (at !== undefined && !detected.has(c.metadata.name) && findCondition(c.status?.conditions, 'Ready')?.status === 'False') detected.set(c.metadata.name, Date.now());
      },
      error: () => undefined,
    });
    for (const v of victims) {
      downAt.set(v.name, Date.now());
      await post(`${v.control}/clusters/${v.emu}/down`, {});
      await sleep(100);
    }
    await eventually(() => {
      if (detected.size < victims.length) throw new Error(`${detected.size} of ${victims.length} seen`);
    }, { timeoutMs: 60_000, intervalMs: 500 }).catch(() => undefined);
    watch.unsubscribe();
    const detect = victims.filter((v) => detected.has(v.name)).map((v) => (detected.get(v.name)! - downAt.get(v.name)!) / 1000);
    process.stdout.write(`detection: ${detect.length}/${victims.length}, p50 ${pct(detect, 50).toFixed(1)} s, p99 ${pct(detect, 99).toFixed(1)} s\n`);

    // 6. HANGS members accept connections but never answer (each probe of them holds a slot until
    //    PROBE_TIMEOUT_MS); the others must still be probed on time.
    const hung = members.slice(BLIPS + DOWNS, BLIPS + DOWNS + HANGS);
    await pool(hung, 32, async (m) => void (await post(`${m.control}/clusters/${m.emu}/hang`, {})));
    const excluded = new Set([...victims, ...hung].map((m) => m.name));
    const hangOldest: number[] = [];
    const hangStale: number[] = [];
    const h0 = Date.now();
    while (Date.now() - h0 < HANG_S * 1000) {
      await sleep(5000);
      const at = Date.now();
      const ages = Object.entries(await redis.hgetall(lastKey)).filter(([n]) => !excluded.has(n)).map(([, t]) => (at - Date.parse(t)) / 1000);
      hangOldest.push(Math.max(...ages));
      hangStale.push(ages.filter((a) => a > staleLimitS).length);
    }
    const hungUnreachable = await metric(probeUrl, 'flotilla_clusters', 'state="unreachable"');
    process.stdout.write(`hang: ${hung.length} hung; others: oldest last probe worst ${Math.max(...hangOldest).toFixed(1)} s, stale worst ${Math.max(...hangStale)}; unreachable now ${hungUnreachable}\n`);

    return {
      cpuPct,
      rssMiB: u1.rssMiB,
      rssPeak,
      emuCpuPct,
      probeRate,
      singleFailures,
      flips,
      detect,
      victims: victims.length,
      warm,
      secs,
      leftOut,
      transitionKinds,
      resultKinds,
      hangOldestWorst: Math.max(...hangOldest),
      hangStaleWorst: Math.max(...hangStale),
      hungUnreachable,
      oldestWorst: Math.max(...oldest),
      oldestMedian: pct(oldest, 50),
      staleWorst: Math.max(...stale),
      probeP50,
      probeP99,
      cold: first.cold,
      coldFromReady: first.fromReady,
      coldProgress: first.progress,
      restart: second.cold,
      restartProgress: second.progress,
      coldRss: first.rssPeak,
      restartRss: second.rssPeak,
    };
  } catch (error) {
    for (const p of procs) process.stderr.write(`--- process ${p.child.pid} (exit ${p.child.exitCode ?? p.child.signalCode}):\n${p.out().slice(-3000)}\n`);
    throw error;
  } finally {
    client?.close();
    await redis?.quit();
    for (const p of procs.reverse()) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.child.kill('SIGTERM');
        await Promise.race([new Promise((r) => p.child.once('exit', r)), sleep(15_000)]);
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      }
    }
    await platform?.cleanup().catch(() => undefined);
    rmSync(out, { recursive: true, force: true });
  }
}

interface Replica {
  proc: Proc;
  url: string;
  /** Seconds from spawn until every cluster's probe time was in the registry's hash. */
  cold: number;
  /** The same, from the replica's readiness. */
  fromReady: number;
  /** Clusters probed 10, 20 and 30 s after spawn. */
  progress: string;
  /** The replica's RSS peak during its cold start (MiB). */
  rssPeak: number;
}

/**
 * Spawns one health-probe replica and waits until every cluster is probed once (its cold start).
 * The probe-time hash must be empty before: its length is the number of clusters probed.
 */
async function startReplica(platform: PlatformEnv, redis: Redis, lastKey: string, procs: Proc[], label: string, names: readonly string[]): Promise<Replica> {
  const port = await freePort();
  // CPU seconds of every process of the bench over the cold start: where the 2 cores went.
  const others = procs.map((p) => ({ pid: p.child.pid!, cpu0: usage(p.child.pid!).cpuS }));
  const spawnedAt = Date.now();
  const proc = run([join(WORKSPACE_ROOT, 'services/health-probe/src/main.ts')], {
    ...platform.env('health-probe'),
    HTTP_PORT: String(port),
    GRPC_PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
    ...(CONCURRENCY ? { PROBE_CONCURRENCY: CONCURRENCY } : {}),
    ...(WORKERS ? { PROBE_WORKERS: WORKERS } : {}),
  }, PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', join(PROFILE_DIR, label)] : []);
  procs.push(proc);
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => {
    if (proc.child.exitCode !== null) throw new Error(`replica exited: ${proc.out().slice(-2000)}`);
    expect200(await fetch(`${url}/readyz`));
  }, { timeoutMs: 60_000, intervalMs: 100 });
  const readyAt = Date.now();
  const marks = new Map<number, number>();
  let rssPeak = 0;
  let n = 0;
  while (n < CLUSTERS) {
    const elapsed = (Date.now() - spawnedAt) / 1000;
    if (proc.child.exitCode !== null) throw new Error(`replica exited: ${proc.out()}`);
    if (elapsed > COLD_TIMEOUT_S) {
      const probed = new Set(await redis.hkeys(lastKey));
      const missing = names.filter((name) => !probed.has(name));
      throw new Error(`${label}: ${n} of ${CLUSTERS} probed ${COLD_TIMEOUT_S} s after the replica started${missing.length ? `; not probed: ${missing.slice(0, 20).join(', ')}` : ''}`);
    }
    for (const at of [10, 20, 30]) if (elapsed >= at && !marks.has(at)) marks.set(at, n);
    rssPeak = Math.max(rssPeak, usage(proc.child.pid!).rssMiB);
    await sleep(250);
    n = await redis.hlen(lastKey);
  }
  const doneAt = Date.now();
  const othersCpu = others.reduce((sum, o) => sum + (usage(o.pid).cpuS - o.cpu0), 0);
  const replicaCpu = usage(proc.child.pid!).cpuS;
  // What the probes found on the way: a cold start that needs many more probes than clusters repeats work (timeouts, handshakes again).
  const results = diffLines(new Map(), await metricLines(url, 'flotilla_probe_total'));
  const inconclusive = await (await fetch(`${url}/metrics`)).text().then((t) => /^flotilla_probe_inconclusive_total(?:\{[^}]*\})? (\S+)/m.exec(t)?.[1] ?? '0');
  const progress = `${[10, 20, 30].map((at) => `${at} s: ${marks.get(at) ?? CLUSTERS}`).join(', ')}; CPU over the ${((doneAt - spawnedAt) / 1000).toFixed(0)} s: replica ${replicaCpu.toFixed(0)} s, emulators and registry ${othersCpu.toFixed(0)} s; probes ${results}, inconclusive ${inconclusive}`;
  return { proc, url, cold: (doneAt - spawnedAt) / 1000, fromReady: (doneAt - readyAt) / 1000, progress, rssPeak };
}

async function stopProc(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  await Promise.race([new Promise((r) => p.child.once('exit', r)), sleep(15_000)]);
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
}

function emptyResult(): Result {
  return {
    cpuPct: NaN, rssMiB: NaN, rssPeak: NaN, emuCpuPct: NaN, probeRate: NaN, singleFailures: NaN, flips: NaN, detect: [], victims: 0, warm: NaN, secs: NaN,
    leftOut, transitionKinds: '', resultKinds: '', hangOldestWorst: NaN, hangStaleWorst: NaN, hungUnreachable: NaN, oldestWorst: NaN, oldestMedian: NaN,
    staleWorst: NaN, probeP50: NaN, probeP99: NaN, cold: NaN, coldFromReady: NaN, coldProgress: '', restart: NaN, restartProgress: '', coldRss: NaN, restartRss: NaN,
  };
}

function expect200(res: Response): void {
  if (res.status !== 200) throw new Error(`status ${res.status}`);
}

async function post(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status >= 300) throw new Error(`${url}: ${res.status} ${await res.text()}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Result {
  cpuPct: number;
  rssMiB: number;
  rssPeak: number;
  emuCpuPct: number;
  probeRate: number;
  singleFailures: number;
  flips: number;
  detect: number[];
  victims: number;
  warm: number;
  secs: number;
  leftOut: number;
  transitionKinds: string;
  resultKinds: string;
  hangOldestWorst: number;
  hangStaleWorst: number;
  hungUnreachable: number;
  oldestWorst: number;
  oldestMedian: number;
  staleWorst: number;
  probeP50: number;
  probeP99: number;
  /** First cold start (every cluster's first status write included): spawn until every cluster probed once, s. */
  cold: number;
  coldFromReady: number;
  coldProgress: string;
  /** A restart with the fleet's statuses written: spawn of the new replica until every cluster probed once, s. */
  restart: number;
  restartProgress: string;
  coldRss: number;
  restartRss: number;
}

/** When this series began: its subsection's heading, so a later series (even the same day) gets its own. */
const SERIES_STARTED = new Date().toISOString();

function write(results: Result[]): void {
  const heading = `### ${CLUSTERS} clusters, one replica, 10 s interval, cold start and restart (${SERIES_STARTED.slice(0, 10)}, series from ${SERIES_STARTED.slice(11, 16)} UTC)`;
  const machine = `${cpus().length} cores (nproc), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, shared host (other test runs concurrently)`;
  const command = `SWC_NODE_PROJECT=tsconfig.json node -r @swc-node/register bench/health-probe.bench.ts --clusters ${CLUSTERS} --steady ${STEADY_S} --downs ${DOWNS} --blips ${BLIPS} --hangs ${HANGS} --runs ${RUNS}${CONCURRENCY ? ` --concurrency ${CONCURRENCY}` : ''}${WORKERS ? ` --workers ${WORKERS}` : ''}`;
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  const row = (name: string, unit: string, values: number[], d = 1) => {
    const sorted = [...values].sort((a, b) => a - b);
    return `| ${name} | ${unit} | ${f(pct(sorted, 50), d)} | ${f(sorted[0], d)} | ${f(sorted[sorted.length - 1], d)} | ${values.map((v) => f(v, d)).join(', ')} |`;
  };
  const m = (k: (r: Result) => number) => results.map(k);
  const sub = [
    heading,
    '',
    `Machine: ${machine}.`,
    `Command: \`${command}\` (${results.length} of ${RUNS} run(s) done, each from scratch; median, min and max across runs).`,
    '',
    '| measure | unit | median | min | max | runs |',
    '|---|---|---|---|---|---|',
    row(`cold start: replica spawned until every cluster probed once, each first probe writing its status (goal <= ${COLD_GOAL_S})`, 's', m((r) => r.cold)),
    row('cold start: the same, from the replica\'s readiness', 's', m((r) => r.coldFromReady)),
    row(`restart (SIGTERM, new replica; statuses already written): spawned until every cluster probed once (goal <= ${COLD_GOAL_S})`, 's', m((r) => r.restart)),
    row('replica RSS peak during the cold start', 'MiB', m((r) => r.coldRss), 0),
    row(`replica CPU, steady state (${STEADY_S} s)`, '% of one core', m((r) => r.cpuPct)),
    row('replica RSS at end of steady state', 'MiB', m((r) => r.rssMiB), 0),
    row('replica RSS peak', 'MiB', m((r) => r.rssPeak), 0),
    row('emulator CPU (both processes, context)', '% of one core', m((r) => r.emuCpuPct)),
    row(`probes per second (target ${CLUSTERS / 10})`, '1/s', m((r) => r.probeRate)),
    row("oldest cluster's last probe, sampled every 5 s through the window: median sample", 's', m((r) => r.oldestMedian)),
    row("oldest cluster's last probe, sampled every 5 s through the window: worst sample", 's', m((r) => r.oldestWorst)),
    row('clusters whose last probe was older than 12 s (interval + 1 s flush + 1 s), worst sample', `of ${CLUSTERS}`, m((r) => r.staleWorst), 0),
    row(`single failed probes injected (5 % /readyz errors on ${BLIPS} clusters)`, 'probes', m((r) => r.singleFailures), 0),
    row('flips (Ready transitions) during the steady state', 'flips', m((r) => r.flips), 0),
    row('probe duration p50 (histogram bucket bound)', 's', m((r) => r.probeP50), 3),
    row('probe duration p99 (histogram bucket bound)', 's', m((r) => r.probeP99), 3),
    row(`time to Ready=False after going down, p50 (n=${DOWNS} per run)`, 's', m((r) => pct(r.detect, 50))),
    row('time to Ready=False after going down, p99', 's', m((r) => pct(r.detect, 99))),
    row('time to Ready=False after going down, max', 's', m((r) => Math.max(...r.detect))),
    row('down members seen Ready=False within 60 s', `of ${DOWNS}`, m((r) => r.detect.length), 0),
    row(`with ${HANGS} members hanging (${HANG_S} s): oldest last probe of the others, worst 5 s sample`, 's', m((r) => r.hangOldestWorst)),
    row('with those members hanging: other clusters whose last probe was older than 12 s, worst sample', `of ${CLUSTERS - HANGS - DOWNS}`, m((r) => r.hangStaleWorst), 0),
    row('clusters Unreachable at the end (the hung and the down members)', `of ${HANGS + DOWNS}`, m((r) => r.hungUnreachable), 0),
    row('emulated clusters left out (emulator TLS infidelity)', 'clusters', m((r) => r.leftOut), 0),
    row('bench start until every cluster probed once', 's', m((r) => r.warm)),
    '',
    ...results.map((r, i) => `Run ${i + 1}: clusters probed 10/20/30 s after spawn: cold start ${r.coldProgress}; restart ${r.restartProgress}.`),
    '',
    ...results.map((r, i) => `Run ${i + 1}: transitions during the steady state: ${r.transitionKinds}. Probe results: ${r.resultKinds}.`),
    '',
  ].join('\n');
  const file = join(__dirname, 'RESULTS.md');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n\n';
  const header = [
    '## health-probe',
    '',
    'Produced by `bench/health-probe.bench.ts` (its header says what each figure means). Emulator (two processes),',
    'registry and the replica run as separate processes on the same 2 shared cores, with Postgres and Redis; the',
    'figures are therefore pessimistic for the replica. Flips must be 0: a single failed probe never flips a cluster.',
    '',
  ].join('\n');
  const sectionRe = /## health-probe\n[\s\S]*?(?=\n## (?!#)|$)/;
  let section = sectionRe.exec(current)?.[0] ?? header;
  const subRe = new RegExp(`${heading.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n[\\s\\S]*?(?=\\n### |$)`);
  section = subRe.test(section) ? section.replace(subRe, sub) : `${section.trimEnd()}\n\n${sub}`;
  const next = sectionRe.test(current) ? current.replace(sectionRe, section.trimEnd() + '\n') : `${current.trimEnd()}\n\n${section}`;
  writeFileSync(file, next.endsWith('\n') ? next : `${next}\n`);
  process.stdout.write(`${sub}\n`);
}

async function main(): Promise<void> {
  const results: Result[] = [];
  for (let i = 0; i < RUNS; i++) {
    process.stdout.write(`run ${i + 1} of ${RUNS}\n`);
    results.push(await runOnce());
    // Written after every run (this series' own subsection, replaced): a long series on a busy
    // machine that is stopped early still leaves the runs it finished.
    if (!COLD_ONLY) write(results);
  }
  if (COLD_ONLY) {
    for (const r of results) process.stdout.write(`cold ${r.cold.toFixed(1)} s (from ready ${r.coldFromReady.toFixed(1)} s; ${r.coldProgress}), restart ${r.restart.toFixed(1)} s (${r.restartProgress}), RSS peak ${r.coldRss.toFixed(0)} / ${r.restartRss.toFixed(0)} MiB\n`);
  }
}

main().catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
