/**
 * The floor under a health-probe replica's cold start (issue 13): what a first probe of a member
 * costs at the very least, in CPU, on this machine, with nothing of Flotilla's in the way.
 *
 * A first probe cannot avoid, per member:
 *   - a TLS context of its own (the member's CA, and its client certificate and key);
 *   - a full TLS 1.3 handshake with mutual authentication (nothing to resume after a start);
 *   - one HTTPS request and its answer.
 *
 * This bench does only that, with bare Node (https, tls), against N members whose TLS material is
 * made like the emulator's (ECDSA P-256, one CA per member, server and client certificates), served
 * by a second process (one HTTPS server per member, contexts built before the clock starts, every
 * request answered "ok"). It measures the CPU time of both processes and the wall time:
 *   - `context`: the client's createSecureContext alone, N times;
 *   - `first request`: a context, a new agent, the handshake and GET /readyz, N times, 64 at a time.
 * The figure that matters is the CPU per member on each side: a replica that starts with 10,000
 * members needs at least 10,000 × (client CPU) core-seconds, and, when its members are emulated on
 * the same machine, 10,000 × (client + server CPU) over the machine's cores.
 *
 * `SWC_NODE_PROJECT=tsconfig.json node -r @swc-node/register bench/tls-floor.bench.ts [--members 2000] [--runs 3]`
 * Writes (or updates) the "## tls-floor" section of bench/RESULTS.md.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:https';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { newClientCert, newClusterPki } from '@flotilla/kube-emulator';
import { pool } from './support/pool';
import { writeResultsSection } from './support/results-file';

interface Member {
  caPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  clientCertPem: string;
  clientKeyPem: string;
}

type ToServer = { type: 'cpu' };
type FromServer = { type: 'ready'; ports: number[] } | { type: 'cpu'; us: number };

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  const v = at >= 0 ? Number(process.argv[at + 1]) : fallback;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer, got ${process.argv[at + 1]}`);
  return v;
}

/** The members' side: one HTTPS server per member, its context built before the client starts. */
function serve(file: string): void {
  const members = JSON.parse(readFileSync(file, 'utf8')) as Member[];
  const ports: number[] = [];
  let listening = 0;
  members.forEach((m, i) => {
    const server = createServer({ key: m.serverKeyPem, cert: m.serverCertPem, ca: m.caPem, requestCert: true, rejectUnauthorized: true }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
    server.keepAliveTimeout = 90_000;
    server.listen(0, '127.0.0.1', () => {
      ports[i] = (server.address() as { port: number }).port;
      if (++listening === members.length) process.send!({ type: 'ready', ports } satisfies FromServer);
    });
  });
  process.on('message', (m: ToServer) => {
    if (m.type === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ type: 'cpu', us: u.user + u.system } satisfies FromServer);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

function ask(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const on = (m: FromServer) => {
      if (m.type !== 'cpu') return;
      child.off('message', on);
      resolve(m.us);
    };
    child.on('message', on);
    child.send({ type: 'cpu' } satisfies ToServer);
  });
}

const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** One member's first request, as a prober makes it: its own context and agent, one keep-alive socket. */
function firstRequest(m: Member, port: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, secureContext: createSecureContext({ ca: m.caPem, cert: m.clientCertPem, key: m.clientKeyPem }), servername: 'kubernetes' });
  return new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', agent, headers: { accept: 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => (res.statusCode === 200 && body === 'ok' ? resolve() : reject(new Error(`answer ${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
    req.end();
  }).finally(() => agent.destroy());
}

interface Run {
  contextClientMs: number;
  firstClientMs: number;
  firstServerMs: number;
  firstWallS: number;
}

async function main(): Promise<void> {
  const MEMBERS = arg('members', 2000);
  const RUNS = arg('runs', 3);
  const WIDTH = 64;
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-tls-floor-'));
  let child: ChildProcess | undefined;
  try {
    const members: Member[] = [];
    for (let i = 0; members.length < MEMBERS; i++) {
      const pki = newClusterPki(`m${i}`);
      const client = newClientCert(pki, `m${i}`, 'kubernetes-admin', ['system:masters']);
      const m = { caPem: pki.caPem, serverCertPem: pki.serverCertPem, serverKeyPem: pki.serverKeyPem, clientCertPem: client.certPem, clientKeyPem: client.keyPem };
      // Material Node refuses (the emulator's DER encoder pads an integer wrongly about once in
      // 150-300 members, see bench/support/probe-emulator-host.ts) is left out, as in the health bench.
      try {
        createSecureContext({ ca: m.caPem, cert: m.clientCertPem, key: m.clientKeyPem });
        createSecureContext({ ca: m.caPem, cert: m.serverCertPem, key: m.serverKeyPem });
        members.push(m);
      } catch {
        // left out
      }
    }
    const file = join(dir, 'members.json');
    writeFileSync(file, JSON.stringify(members), { mode: 0o600 });
    child = fork(__filename, ['--serve', file], { execArgv: ['-r', '@swc-node/register'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const ports = await new Promise<number[]>((resolve, reject) => {
      child!.once('exit', (code) => reject(new Error(`the members' process exited (${code})`)));
      child!.on('message', (m: FromServer) => m.type === 'ready' && resolve(m.ports));
    });
    // Warm-up: JIT and the server side's lazy state, on a tenth of the members (not counted).
    const targets = members.map((m, i) => ({ m, port: ports[i]! }));
    await pool(targets.slice(0, Math.ceil(MEMBERS / 10)), WIDTH, (t) => firstRequest(t.m, t.port));
    const runs: Run[] = [];
    for (let r = 0; r < RUNS; r++) {
      const c0 = cpuUs();
      for (const m of members) createSecureContext({ ca: m.caPem, cert: m.clientCertPem, key: m.clientKeyPem });
      const contextClientMs = (cpuUs() - c0) / 1000 / MEMBERS;
      const s0 = await ask(child);
      const f0 = cpuUs();
      const t0 = performance.now();
      await pool(targets, WIDTH, (t) => firstRequest(t.m, t.port));
      const firstWallS = (performance.now() - t0) / 1000;
      const firstClientMs = (cpuUs() - f0) / 1000 / MEMBERS;
      const firstServerMs = ((await ask(child)) - s0) / 1000 / MEMBERS;
      runs.push({ contextClientMs, firstClientMs, firstServerMs, firstWallS });
      process.stdout.write(`run ${r + 1}: context ${contextClientMs.toFixed(3)} ms; first request: client ${firstClientMs.toFixed(3)} ms, members ${firstServerMs.toFixed(3)} ms CPU per member, ${(MEMBERS / firstWallS).toFixed(0)}/s\n`);
    }
    write(MEMBERS, RUNS, runs);
  } finally {
    child?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

function write(members: number, runsN: number, runs: Run[]): void {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const cores = cpus().length;
  const f = (x: number, d = 2) => x.toFixed(d);
  const row = (name: string, unit: string, v: number[], d = 2) => `| ${name} | ${unit} | ${f(median(v), d)} | ${f(Math.min(...v), d)} | ${f(Math.max(...v), d)} | ${v.map((x) => f(x, d)).join(', ')} |`;
  const client = runs.map((r) => r.firstClientMs);
  const both = runs.map((r) => r.firstClientMs + r.firstServerMs);
  const date = new Date().toISOString().replace('T', ' ').slice(0, 16);
  const section = [
    '## tls-floor',
    '',
    '### The floor under a 10,000-member cold start: one TLS context, one mutual TLS 1.3 handshake and one request per member, bare Node (issue 13)',
    '',
    `Date: ${date} UTC. Machine: ${cores} cores (nproc), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, shared/noisy host.`,
    `Command: \`SWC_NODE_PROJECT=tsconfig.json node -r @swc-node/register bench/tls-floor.bench.ts --members ${members} --runs ${runsN}\` (${members} members, ECDSA P-256 material made like the emulator's, 64 at a time, after a warm-up).`,
    '',
    '| measure | unit | median | min | max | runs |',
    '|---|---|---|---|---|---|',
    row('client: createSecureContext (CA, certificate, key)', 'ms CPU per member', runs.map((r) => r.contextClientMs), 3),
    row('client: context, handshake and GET /readyz', 'ms CPU per member', client, 3),
    row('members\' side: handshake and answer', 'ms CPU per member', runs.map((r) => r.firstServerMs), 3),
    row('first requests, client and members on these cores together', 'members/s', runs.map((r) => members / r.firstWallS), 0),
    row('10,000 first requests at that rate', 's', runs.map((r) => (10_000 * r.firstWallS) / members), 1),
    row('floor for 10,000 members: the client\'s CPU alone, one core', 's', client.map((x) => x * 10), 1),
    row(`floor for 10,000 members: client and members on these ${cores} cores`, 's', both.map((x) => (x * 10) / cores), 1),
    '',
    'The floors are CPU divided by cores, with nothing else running: no kubeconfig to parse, no credentials to fetch, no status to write, no inventory, no registry or Postgres. A Flotilla replica does all of these on top.',
    '',
  ].join('\n');
  process.stdout.write(`${section}\n`);
  writeResultsSection('tls-floor', section);
}

if (process.argv[2] === '--serve') serve(process.argv[3]!);
else
  main().catch((e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  });
