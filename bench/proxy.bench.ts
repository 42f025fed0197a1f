/**
 * The multi-cluster API proxy (services/gateway/src/proxy), 127.0.0.1 only, three processes:
 * the emulated member (one kube-emulator cluster), the gateway (its HTTP face as main.ts builds it:
 * request ids and access logs, audit, authentication with a real Flotilla token, authorization,
 * the proxy as installProxy mounts it; see services/gateway/src/proxy/testing/bench-gateway.ts),
 * and this client. In the gateway process too: a bare Node.js HTTPS proxy (the floor: what any
 * Node proxy costs on these cores), measured in the same run.
 *  - GET throughput through the proxy vs the same client going to the member directly, 16
 *    concurrent keep-alive connections, TLS on both hops, alternating in the same run; ratio;
 *  - p50 latency added by the proxy (one request at a time);
 *  - exec byte throughput (kubectl exec -i ... -- cat, WebSocket) through the proxy vs direct;
 *  - watches held open through one proxy process, with its RSS per watch, and how many of them
 *    deliver one change made in the member.
 * Writes the "## proxy" section of bench/RESULTS.md.
 * Run: npm run bench -- --only proxy [--quick] [--watches N]
 * Knobs for investigation: BENCH_MAX_FREE_SOCKETS=<n> (the proxy's idle sockets per member),
 * BENCH_PROFILE=gateway|emulator (a CPU profile of that process in /tmp/proxy-prof),
 * BENCH_ONLY=throughput (the throughput figures only, printed, RESULTS.md untouched),
 * BENCH_ONLY=proxied (proxied and bare GETs alternating, with the gateway's CPU per request).
 */
import { Agent, type RequestOptions, request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { KubeEmulator, createCertificate, ensureKubectl, keyPem, newKeyPair, writeKubeconfig } from '@flotilla/kube-emulator';
import { startBareProxy } from '../services/gateway/src/proxy/testing/bare-proxy';
import { startBenchGateway } from '../services/gateway/src/proxy/testing/bench-gateway';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const quick = process.argv.includes('--quick');
const only = process.env.BENCH_ONLY;
const RUNS = 3;
const DURATION_MS = quick ? 1000 : 3000;
const CONCURRENCY = 16;
const LATENCY_REQUESTS = quick ? 300 : 2000;
const WATCHES = Number(arg('--watches', quick ? '500' : '5000'));
const EXEC_BYTES = (quick ? 8 : 32) * 2 ** 20;
const PROXY_PREFIX = '/apis/cluster.kubesphere.io/v1alpha1/clusters/bench/proxy';
const progress = (what: string) => process.stderr.write(`proxy bench: ${what}\n`);

// ---- children ------------------------------------------------------------------------------------

function send(message: unknown): void {
  process.send!(message);
}

async function emulatorMain(): Promise<void> {
  const emu = await KubeEmulator.start({ clusters: 0, bookmarkIntervalMs: 3_600_000 });
  const c = await emu.addCluster({ flavour: 'kubeadm', name: 'bench' });
  send({ server: c.server, caPem: c.caPem, token: c.tokens.admin, kubeconfig: c.kubeconfig('admin') });
  process.on('message', (m: { rss?: boolean; streams?: boolean }) => {
    if (m.rss) send({ rss: process.memoryUsage().rss });
    if (m.streams) send({ streams: c.streamConnections().map((s) => s.transport) });
  });
}

async function gatewayMain(): Promise<void> {
  const member = await new Promise<{ kubeconfig: string; server: string; caPem: string; token: string }>((r) => process.once('message', r as never));
  const ca = newKeyPair();
  const caPem = createCertificate({ subject: { cn: 'bench-gateway-ca' }, issuer: { cn: 'bench-gateway-ca' }, publicKey: ca.publicKey, signingKey: ca.privateKey, ca: true });
  const srv = newKeyPair();
  const cert = createCertificate({ subject: { cn: 'gateway' }, issuer: { cn: 'bench-gateway-ca' }, publicKey: srv.publicKey, signingKey: ca.privateKey, usage: 'server', ips: ['127.0.0.1'] });
  const key = keyPem(srv.privateKey);
  const gw = await startBenchGateway({ kubeconfig: member.kubeconfig, cert, key, ...(process.env.BENCH_MAX_FREE_SOCKETS ? { maxFreeSockets: Number(process.env.BENCH_MAX_FREE_SOCKETS) } : {}) });
  const bare = startBareProxy({ cert, key, member: member.server, ca: member.caPem, token: member.token, prefix: PROXY_PREFIX });
  await new Promise<void>((r) => gw.server.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
  const url = (s: typeof bare) => `https://127.0.0.1:${(s.address() as AddressInfo).port}`;
  send({ url: url(gw.server), bareUrl: url(bare), caPem, token: gw.token });
  process.on('message', (m: { rss?: boolean; audit?: boolean; cpu?: boolean }) => {
    if (m.cpu) {
      const u = process.cpuUsage();
      send({ cpu: u.user + u.system });
      return;
    }
    if (m.audit) {
      void gw.audit.flush().then(() => send({ stored: gw.stored() }));
      return;
    }
    if (!m.rss) return;
    (globalThis as { gc?: () => void }).gc?.();
    send({ rss: process.memoryUsage().rss });
  });
}

// ---- the client ----------------------------------------------------------------------------------

const children: ChildProcess[] = [];

function child(role: string): { proc: ChildProcess; next: () => Promise<any> } {
  const prof = process.env.BENCH_PROFILE === role ? ['--cpu-prof', '--cpu-prof-dir=/tmp/proxy-prof'] : [];
  // The gateway's access log (info, stdout, as in production) goes to /dev/null: written, not shown.
  const stdout = role === 'gateway' ? 'ignore' : 'inherit';
  const proc = spawn(process.execPath, [...process.execArgv, ...prof, __filename, '--role', role], { stdio: ['ignore', stdout, 'inherit', 'ipc'], env: process.env });
  children.push(proc);
  const queue: any[] = [];
  const waiters: ((m: any) => void)[] = [];
  proc.on('message', (m) => (waiters.length ? waiters.shift()!(m) : queue.push(m)));
  return { proc, next: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r))) };
}

interface Target {
  base: string;
  ca: string;
  auth: string;
}

function call(t: Target, path: string, o: { agent?: Agent; method?: string; body?: string } = {}): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = { authorization: t.auth, accept: 'application/json', ...(o.body ? { 'content-type': 'application/json' } : {}) };
    const req = request(`${t.base}${path}`, { agent: o.agent, method: o.method ?? 'GET', ca: t.ca, headers } as RequestOptions, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

function get(agent: Agent, t: Target, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${t.base}${path}`, { agent, ca: t.ca, headers: { authorization: t.auth, accept: 'application/json' } } as RequestOptions, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function throughput(t: Target, path: string, counted?: { n: number }): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let done = 0;
  const deadline = Date.now() + DURATION_MS;
  const start = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < deadline) {
        const code = await get(agent, t, path);
        if (code !== 200) throw new Error(`GET ${t.base}${path} answered ${code}`);
        done++;
      }
    }),
  );
  agent.destroy();
  if (counted) counted.n = done;
  return done / ((Date.now() - start) / 1000);
}

async function p50(t: Target, path: string): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  for (let i = 0; i < LATENCY_REQUESTS; i++) {
    const t0 = process.hrtime.bigint();
    await get(agent, t, path);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  agent.destroy();
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Opens n watches through the proxy; resolves when every one has its headers. */
async function openWatches(t: Target, n: number, onEvent: (i: number, chunk: string) => void): Promise<IncomingMessage[]> {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const out: IncomingMessage[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < n) {
        const i = next++;
        const res = await new Promise<IncomingMessage>((resolve, reject) => {
          const req = request(`${t.base}/api/v1/namespaces/default/configmaps?watch=true&allowWatchBookmarks=false`, { agent, ca: t.ca, headers: { authorization: t.auth } } as RequestOptions, resolve);
          req.on('error', reject);
          req.end();
        });
        if (res.statusCode !== 200) throw new Error(`watch ${i} answered ${res.statusCode}`);
        res.on('data', (c: Buffer) => onEvent(i, c.toString()));
        out.push(res);
      }
    }),
  );
  return out;
}

/** A kubeconfig for a real kubectl: the target's server, CA and bearer token. */
function kubeconfigFor(t: Target): string {
  const token = t.auth.replace(/^Bearer /, '');
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: c, cluster: {server: "${t.base}", certificate-authority-data: ${Buffer.from(t.ca).toString('base64')}}}]`,
    `users: [{name: u, user: {token: "${token}"}}]`,
    'contexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]',
    'current-context: c',
  ].join('\n');
}

/** `kubectl exec -i bench-exec -- cat` with `bytes` on stdin: bytes/s both ways (stdin in, stdout back), kubectl start included. */
async function execThroughput(kubectlBin: string, kubeconfig: string, bytes: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  const proc = spawn(kubectlBin, ['--kubeconfig', kubeconfig, 'exec', '-i', 'bench-exec', '--', 'cat'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let received = 0;
  proc.stdout.on('data', (c: Buffer) => (received += c.length));
  const chunk = Buffer.alloc(64 * 1024, 'x');
  for (let sent = 0; sent < bytes; sent += chunk.length) {
    if (!proc.stdin.write(chunk)) await new Promise((r) => proc.stdin.once('drain', r));
  }
  proc.stdin.end();
  const code = await new Promise<number | null>((r) => proc.once('close', r));
  if (code !== 0 || received !== bytes) throw new Error(`kubectl exec exited ${code} with ${received} of ${bytes} bytes`);
  return bytes / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! };
};

async function main(): Promise<void> {
  const emulator = child('emulator');
  const member = await emulator.next();
  const gateway = child('gateway');
  gateway.proc.send(member);
  const gw = await gateway.next();
  const direct: Target = { base: member.server, ca: member.caPem, auth: `Bearer ${member.token}` };
  const proxied: Target = { base: `${gw.url}${PROXY_PREFIX}`, ca: gw.caPem, auth: `Bearer ${gw.token}` };
  const noimp: Target = { ...proxied, base: `${gw.url}/apis/cluster.kubesphere.io/v1alpha1/clusters/bench-noimp/proxy` };
  const bare: Target = { base: `${gw.bareUrl}${PROXY_PREFIX}`, ca: gw.caPem, auth: 'Bearer unused' };
  // Flotilla's role groups bound in the member, as Flotilla keeps them; a config map to read; a pod to exec in.
  const crb = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'flotilla-role-cluster-admin' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'flotilla:role:cluster-admin' }] };
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'bench' }, data: { k: 'v' } };
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bench-exec' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } };
  for (const [path, body] of [
    ['/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', crb],
    ['/api/v1/namespaces/default/configmaps', cm],
    ['/api/v1/namespaces/default/pods', pod],
  ] as const) {
    const r = await call(direct, path, { method: 'POST', body: JSON.stringify(body) });
    if (r.code !== 201) throw new Error(`POST ${path} answered ${r.code}: ${r.body.slice(0, 300)}`);
  }
  const path = '/api/v1/namespaces/default/configmaps/bench';
  progress('member and proxy up; warming up');
  // Warm up every path (TLS sessions, JIT), and the pools at full concurrency (16 client and member connections each).
  for (const t of [direct, proxied, noimp, bare]) await p50(t, path);
  for (const t of [direct, proxied, noimp, bare]) await throughput(t, path);

  if (only === 'proxied') {
    // Proxied and bare alternating, the gateway's CPU per request of each (profile with BENCH_PROFILE=gateway).
    for (let r = 0; r < RUNS; r++) {
      for (const [label, t] of [['proxied', proxied], ['bare', bare]] as const) {
        gateway.proc.send({ cpu: true });
        const cpu0 = (await gateway.next()).cpu as number;
        const counted = { n: 0 };
        const rate = await throughput(t, path, counted);
        gateway.proc.send({ cpu: true });
        const cpu1 = (await gateway.next()).cpu as number;
        process.stdout.write(`${label}: ${rate.toFixed(0)} req/s, gateway CPU ${((cpu1 - cpu0) / counted.n).toFixed(0)} µs per request\n`);
      }
    }
    emulator.proc.kill();
    gateway.proc.kill();
    return;
  }
  const results: { name: string; unit: string; runs: number[] }[] = [];
  const [d, p, n, b, ratio, ratioNoimp, ratioBare, cpuP, cpuB] = [[], [], [], [], [], [], [], [], []] as number[][];
  /** The gateway process's CPU time per request (µs) over one throughput run: noise from other processes does not move it much. */
  const cpuPer = async (t: Target, out: number[]): Promise<number> => {
    gateway.proc.send({ cpu: true });
    const before = (await gateway.next()).cpu as number;
    const counted = { n: 0 };
    const rate = await throughput(t, path, counted);
    gateway.proc.send({ cpu: true });
    out.push(((await gateway.next()).cpu - before) / counted.n);
    return rate;
  };
  progress('throughput');
  for (let r = 0; r < RUNS; r++) {
    d.push(await throughput(direct, path));
    p.push(await cpuPer(proxied, cpuP));
    n.push(await throughput(noimp, path));
    b.push(await cpuPer(bare, cpuB));
    ratio.push(p[r]! / d[r]!);
    ratioNoimp.push(n[r]! / d[r]!);
    ratioBare.push(b[r]! / d[r]!);
  }
  results.push({ name: 'GET configmap direct to the member, 16 concurrent keep-alive TLS connections', unit: 'req/s', runs: d });
  results.push({ name: 'GET configmap through the proxy (impersonation on, the default), same client', unit: 'req/s', runs: p });
  results.push({ name: 'ratio proxied / direct, impersonation on (goal >= 0.85)', unit: 'x', runs: ratio });
  results.push({ name: 'GET configmap through the proxy, impersonation off (cluster-admin by choice)', unit: 'req/s', runs: n });
  results.push({ name: 'ratio proxied / direct, impersonation off', unit: 'x', runs: ratioNoimp });
  results.push({ name: 'GET configmap through a bare Node.js HTTPS proxy (the floor: no Flotilla logic), same client', unit: 'req/s', runs: b });
  results.push({ name: 'ratio bare proxy / direct (the most any one-process Node proxy reaches here)', unit: 'x', runs: ratioBare });
  results.push({ name: 'gateway process CPU per proxied GET (impersonation on)', unit: 'µs', runs: cpuP });
  results.push({ name: 'bare proxy CPU per GET (same process, the floor)', unit: 'µs', runs: cpuB });
  const f = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
  if (only === 'throughput') {
    for (const r of results) process.stdout.write(`${r.name}: ${r.runs.map(f).join(', ')}\n`);
    emulator.proc.kill();
    gateway.proc.kill();
    return;
  }
  progress('latency');
  const added: number[] = [];
  for (let r = 0; r < RUNS; r++) added.push((await p50(proxied, path)) - (await p50(direct, path)));
  results.push({ name: `p50 latency added by the proxy, one request at a time (${LATENCY_REQUESTS} each way)`, unit: 'ms', runs: added });

  progress('exec');
  const kubectlBin = await ensureKubectl();
  for (let i = 0; ; i++) {
    const r = await call(direct, '/api/v1/namespaces/default/pods/bench-exec');
    if ((JSON.parse(r.body) as { status?: { phase?: string } }).status?.phase === 'Running') break;
    if (i > 100) throw new Error('the bench-exec pod is not Running');
    await new Promise((res) => setTimeout(res, 100));
  }
  const directKc = writeKubeconfig(kubeconfigFor(direct));
  const proxiedKc = writeKubeconfig(kubeconfigFor(proxied));
  const ed: number[] = [];
  const ep: number[] = [];
  const er: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    ed.push((await execThroughput(kubectlBin, directKc, EXEC_BYTES)) / 2 ** 20);
    ep.push((await execThroughput(kubectlBin, proxiedKc, EXEC_BYTES)) / 2 ** 20);
    er.push(ep[r]! / ed[r]!);
  }
  emulator.proc.send({ streams: true });
  const transports = new Set((await emulator.next()).streams as string[]);
  const via = [...transports].join(', ');
  results.push({ name: `exec -i ... -- cat of ${EXEC_BYTES / 2 ** 20} MiB direct to the member (kubectl ${via}, start included)`, unit: 'MiB/s', runs: ed });
  results.push({ name: 'the same through the proxy', unit: 'MiB/s', runs: ep });
  results.push({ name: 'ratio exec proxied / direct', unit: 'x', runs: er });

  progress(`opening ${WATCHES} watches`);
  // Watches: RSS of the proxy process before and after, and one change delivered to all of them.
  gateway.proc.send({ rss: true });
  const rssBefore = (await gateway.next()).rss as number;
  const delivered = new Set<number>();
  const t0 = Date.now();
  const watches = await openWatches(proxied, WATCHES, (i, chunk) => chunk.includes('"name":"watch-marker"') && delivered.add(i));
  const openSeconds = (Date.now() - t0) / 1000;
  gateway.proc.send({ rss: true });
  const rssAfter = (await gateway.next()).rss as number;
  await call(direct, '/api/v1/namespaces/default/configmaps', { method: 'POST', body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watch-marker' } }) });
  progress(`${watches.length} watches open; waiting for the change on each`);
  const until = Date.now() + 30_000;
  while (delivered.size < watches.length && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  for (const w of watches) w.destroy();
  gateway.proc.send({ audit: true });
  const audited = (await gateway.next()).stored as number;

  const lines = [
    '## proxy',
    '',
    `Date: ${new Date().toISOString().slice(0, 10)}. Machine: ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, shared host.`,
    `Command: \`npm run bench -- --only proxy${quick ? ' --quick' : ''}\` (${RUNS} runs of ${DURATION_MS / 1000} s per throughput figure, direct and proxied alternating in the same run).`,
    'Three processes on the same cores: the emulated member; the gateway as main.ts mounts it (request ids and access log lines at info to /dev/null, audit level All into a store that encodes each batch as JSON and discards it, a real Flotilla token checked against the IAM mirror, the authorizer, the proxy; bench-gateway.ts), which also hosts the bare Node proxy of the floor figure; and the client.',
    '',
    '| measure | unit | median | min | max | runs |',
    '|---|---|---|---|---|---|',
    ...results.map((r) => {
      const s = stats(r.runs);
      return `| ${r.name} | ${r.unit} | ${f(s.median)} | ${f(s.min)} | ${f(s.max)} | ${r.runs.map(f).join(', ')} |`;
    }),
    `| watches held open through one proxy process (each: a client TLS connection in, a member TLS connection out) | watches | ${watches.length} | | | opened in ${openSeconds.toFixed(1)} s |`,
    `| proxy RSS per open watch ((RSS with ${watches.length} watches - RSS before) / ${watches.length}, after gc) | KiB | ${((rssAfter - rssBefore) / 1024 / watches.length).toFixed(1)} | | | before ${(rssBefore / 2 ** 20).toFixed(0)} MiB, after ${(rssAfter / 2 ** 20).toFixed(0)} MiB |`,
    `| watches that delivered one change made directly in the member | of ${watches.length} | ${delivered.size} | | | |`,
    `| audit events stored by the gateway during the run | events | ${audited} | | | |`,
    '',
  ];
  const section = lines.join('\n');
  process.stdout.write(`${section}\n`);
  const file = join(__dirname, 'RESULTS.md');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n\n';
  // The section's analysis paragraphs (after the table) are written by hand and kept.
  const re = /## proxy\n[\s\S]*?\n\| watches that delivered[^\n]*\n(\| audit events[^\n]*\n)?/;
  const next = re.test(current) ? current.replace(re, section) : `${current.trimEnd()}\n\n${section}`;
  writeFileSync(file, next.endsWith('\n') ? next : `${next}\n`);
  emulator.proc.kill();
  gateway.proc.kill();
}

const role = arg('--role', '');
(role === 'emulator' ? emulatorMain() : role === 'gateway' ? gatewayMain() : main()).catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  for (const c of children) c.kill();
  process.exit(1);
});
// A child whose client is gone ends too (no orphaned emulator or proxy).
if (role) process.on('disconnect', () => process.exit(0));
if (role) process.on('SIGTERM', () => process.exit(0));
