/**
 * Authorization decisions from memory (issue 14: goal ≥ 50,000 decisions/s with 1,000 bindings).
 * Writes (or updates) the "## authz" section of bench/RESULTS.md.
 *
 *   SWC_NODE_PROJECT=tsconfig.json node -r @swc-node/register bench/authz.bench.ts [--runs 7] [--seconds 1]
 *
 * In one process, no I/O: an IamMirror fed 1,000 ClusterAccessBindings (half naming 5 clusters
 * each, half selecting clusters by labels, with matchLabels or matchExpressions), 2,000 users in
 * 200 groups, 500 tokens, 100 GlobalRoleBindings; 1,000 clusters with env/region/tier labels. A
 * decision is what the proxy does per request: memberRole(principal, cluster) then, when a role
 * is held, memberAllows(role, verb/resource). Measured three ways, each over --runs runs of
 * --seconds seconds:
 * - warm: 65,536 (principal, cluster) pairs, cache filled (the steady state between changes);
 * - uncached: the cache dropped before every decision (the worst case, right after every change
 *   of a binding, a user or a cluster's labels);
 * - fleet: fleet() decisions on Flotilla's own API (never cached).
 */
import { cpus, totalmem } from 'node:os';
import { MEMBER_ROLES, Principal } from '@flotilla/domain';
import type { StoredObject } from '@flotilla/clients';
import { Authorizer } from '../services/gateway/src/authz/authorizer';
import { IamMirror } from '../services/gateway/src/iam/iam-mirror';
import { MapLabels, ManualFeed, accessBinding, fleetBinding, tokenObject, userObject } from '../services/gateway/src/auth/testing/iam-fixtures';
import { writeResultsSection } from './support/results-file';

const argv = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const RUNS = arg('runs', 7);
const SECONDS = arg('seconds', 1);
const CLUSTERS = 1000;
const BINDINGS = 1000;
const USERS = 2000;
const GROUPS = 200;
const PAIRS = 65_536;

/** A deterministic generator, so every run decides over the same fleet. */
let seed = 42;
const rand = (n: number) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};

function build() {
  const feed = new ManualFeed();
  const mirror = new IamMirror(feed);
  mirror.start();
  const labels = new MapLabels();
  const cluster = (i: number) => `c${String(i).padStart(4, '0')}`;
  const env = ['prod', 'staging', 'dev'];
  for (let i = 0; i < CLUSTERS; i++) labels.labels.set(cluster(i), { env: env[i % 3]!, region: `r${i % 10}`, tier: `t${i % 5}` });
  const items: StoredObject[] = [];
  const principals: Principal[] = [];
  for (let i = 0; i < USERS; i++) {
    const groups = [`g${i % GROUPS}`, `g${(i * 7 + 3) % GROUPS}`];
    items.push(userObject(`u${i}`, groups));
    const p: Principal = { user: `u${i}`, groups, via: 'token' };
    if (i < 500) {
      const t = tokenObject(`u${i}`);
      items.push(t.object);
      p.tokenId = t.name;
    }
    principals.push(p);
  }
  for (let i = 0; i < 100; i++) items.push(fleetBinding(`grb${i}`, i % 10 === 0 ? 'fleet-admin' : 'fleet-viewer', [{ kind: 'User', name: `u${1000 + i}` }]));
  for (let i = 0; i < BINDINGS; i++) {
    const role = MEMBER_ROLES[rand(3)]!;
    const subjects = [
      { kind: 'User' as const, name: `u${rand(USERS)}` },
      { kind: 'Group' as const, name: `g${rand(GROUPS)}` },
    ];
    if (i % 2 === 0) {
      items.push(accessBinding(`cab${i}`, role, subjects, { clusters: Array.from({ length: 5 }, () => cluster(rand(CLUSTERS))) }));
    } else if (i % 4 === 1) {
      items.push(accessBinding(`cab${i}`, role, subjects, { clusterSelector: { matchLabels: { env: env[rand(3)]!, region: `r${rand(10)}` } } }));
    } else {
      items.push(accessBinding(`cab${i}`, role, subjects, { clusterSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: [`t${rand(5)}`, `t${rand(5)}`] }, { key: 'env', operator: 'NotIn', values: ['dev'] }] } }));
    }
  }
  feed.sync(items);
  const authorizer = new Authorizer(mirror, labels);
  const pairs = Array.from({ length: PAIRS }, () => ({ p: principals[rand(USERS)]!, cluster: cluster(rand(CLUSTERS)) }));
  return { authorizer, pairs, principals };
}

const REQUEST = { verb: 'list', group: '', resource: 'pods' };

/** Decisions per second over SECONDS, checking the clock every 4096 decisions. */
function measure(decide: (i: number) => unknown): number {
  const end = process.hrtime.bigint() + BigInt(Math.round(SECONDS * 1e9));
  const start = process.hrtime.bigint();
  let n = 0;
  for (;;) {
    for (let k = 0; k < 4096; k++) decide(n++);
    const now = process.hrtime.bigint();
    if (now >= end) return n / (Number(now - start) / 1e9);
  }
}

function main(): void {
  const { authorizer, pairs, principals } = build();
  let allowed = 0;
  const member = (i: number) => {
    const { p, cluster } = pairs[i & (PAIRS - 1)]!;
    const role = authorizer.memberRole(p, cluster);
    if (role && authorizer.memberAllows(role, REQUEST)) allowed++;
  };
  const uncached = (i: number) => {
    authorizer.invalidate();
    member(i);
  };
  const fleet = (i: number) => authorizer.fleet(principals[i % USERS]!, { verb: 'list', group: 'cluster.kubesphere.io', resource: 'clusters' }).allowed;
  for (let i = 0; i < PAIRS; i++) member(i); // fill the cache, warm the JIT
  measure(uncached);
  measure(fleet);
  const results = { warm: [] as number[], uncached: [] as number[], fleet: [] as number[] };
  for (let r = 0; r < RUNS; r++) {
    results.warm.push(measure(member));
    results.uncached.push(measure(uncached));
    results.fleet.push(measure(fleet));
    process.stdout.write(`run ${r + 1}: warm ${results.warm[r]!.toFixed(0)}/s, uncached ${results.uncached[r]!.toFixed(0)}/s, fleet ${results.fleet[r]!.toFixed(0)}/s\n`);
  }
  const share = allowed > 0 ? '' : ' (no decision allowed: check the fixture)';
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const f = (x: number) => Math.round(x).toLocaleString('en-US');
  const row = (name: string, v: number[]) => `| ${name} | decisions/s | ${f(median(v))} | ${f(Math.min(...v))} | ${f(Math.max(...v))} | ${v.map(f).join(', ')} |`;
  const date = new Date().toISOString().slice(0, 10);
  const machine = `${cpus().length} cores (nproc), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, shared/noisy host`;
  const section = [
    '## authz',
    '',
    '### Authorization decisions from memory, 1,000 ClusterAccessBindings over 1,000 clusters (issue 14)',
    '',
    `Date: ${date}. Machine: ${machine}.`,
    `Command: \`SWC_NODE_PROJECT=tsconfig.json node -r @swc-node/register bench/authz.bench.ts --runs ${RUNS} --seconds ${SECONDS}\` (${RUNS} runs of ${SECONDS} s per measure, one process, no I/O).`,
    '',
    '| measure (goal: ≥ 50,000 decisions/s) | unit | median | min | max | runs |',
    '|---|---|---|---|---|---|',
    row('member decision (memberRole + memberAllows), cache warm, 65,536 (principal, cluster) pairs', results.warm),
    row('member decision with the cache dropped before each one (worst case, just after a change)', results.uncached),
    row('fleet decision on Flotilla\'s own API (not cached; 100 GlobalRoleBindings)', results.fleet),
    '',
    `Fixture: 1,000 bindings (500 naming 5 clusters each, 250 matchLabels and 250 matchExpressions selectors over env/region/tier labels), each bound to one user and one of 200 groups; 2,000 users in 2 groups each, 500 with a token. Each principal thus meets about 10 bindings through its groups. ${share}`.trimEnd(),
    '',
  ].join('\n');
  process.stdout.write(`${section}\n`);
  writeResultsSection('authz', section);
}

main();
