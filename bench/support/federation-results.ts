/**
 * The "## federation" section of bench/RESULTS.md for bench/federation.bench.ts: one dated
 * subsection per configuration (replaced when the same configuration runs again the same day),
 * appended at the end of the file; no other section is touched.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

export interface RunResult {
  /** Measure 1: per change, ms from the write to the hash seen on every member. */
  everywhereMs: number[];
  /** Measure 1: per change and member, ms from the write to the hash seen there. */
  perMemberMs: number[];
  /** Measure 2: member objects applied per second. */
  fedRate: number;
  rawSsaRate: number;
  rawApplierRate: number;
}

export interface ColdResult {
  /** Spawn of the replica until every placement was confirmed (apply_total applied+unchanged). */
  verifiedS: number;
  /** Spawn until the replica was idle after that (objects queued 0, member queues 0). */
  idleS: number;
  /** Spawn until ready (/readyz). */
  readyS: number;
  patches: number;
  gets: number;
  otherWrites: number;
  storeWrites: number;
  applied: number;
  unchanged: number;
  rssPeakMiB: number;
  rssIdleMiB: number;
  note: string;
}

export interface Config {
  command: string;
  members: number;
  changes: number;
  tpObjects: number;
  tpMembers: number;
  coldObjects: number;
  coldMembers: number;
  placements: number;
  seedS: number;
  leftOut: number;
  writePath: string;
}

export const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]! : NaN;
};

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

function row(name: string, unit: string, values: number[], d = 1, goal = ''): string {
  const s = [...values].sort((a, b) => a - b);
  return `| ${name} | ${unit} | ${f(pct(s, 50), d)} | ${f(s[0]!, d)} | ${f(s[s.length - 1]!, d)} | ${values.map((v) => f(v, d)).join(', ')} | ${goal} |`;
}

const verdict = (ok: boolean) => (ok ? 'met' : '**not met**');

export function writeResults(c: Config, runs: RunResult[], colds: ColdResult[]): string {
  const date = new Date().toISOString().slice(0, 10);
  const machine = `${cpus().length} cores (nproc), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}; shared host, 1-minute load average ${loadavg()[0]!.toFixed(2)} when the section was written`;
  const title = `### ${c.members} members, ${c.tpObjects}×${c.tpMembers} throughput, ${c.coldObjects}×${c.coldMembers} cold start (${date})`;
  const p99s = runs.map((r) => pct(r.everywhereMs, 99));
  const ratios = runs.map((r) => r.fedRate / r.rawSsaRate);
  const ratiosApplier = runs.map((r) => r.fedRate / r.rawApplierRate);
  const verified = colds.map((x) => x.verifiedS);
  const rss = colds.map((x) => x.rssPeakMiB);
  const lines = [
    title,
    '',
    `Machine: ${machine}.`,
    `Command: \`${c.command}\`. One setup (emulator, registry, federation-sync), then ${runs.length} run(s) of measures 1-2 and ${colds.length} restart(s) for measures 3-4; median, min and max across runs.`,
    `Federated objects are written ${c.writePath}. Members: ${c.members} emulated clusters in ONE emulator process (${c.leftOut} left out for the emulator's TLS infidelity), registered Ready and labelled; federation-sync runs from source with its defaults (8 requests in flight and 50 per second per member; object changes pushed by the registry over WatchObjectChanges, ADR 0036). Everything (Postgres, Redis, registry, emulator, replica, this client) shares the 2 cores.`,
    '',
    '| measure | unit | median | min | max | runs | goal |',
    '|---|---|---|---|---|---|---|',
    row(`1. one template change to ${c.members} members, write to hash seen everywhere, p50 over ${c.changes} changes`, 'ms', runs.map((r) => pct(r.everywhereMs, 50)), 0),
    row(`1. the same, p99 over ${c.changes} changes`, 'ms', p99s, 0, `p99 ≤ 500 ms: ${verdict(pct(p99s, 50) <= 500)}`),
    row('1. per member (write to hash seen on that member), p50', 'ms', runs.map((r) => pct(r.perMemberMs, 50)), 0),
    row('1. per member, p99', 'ms', runs.map((r) => pct(r.perMemberMs, 99)), 0),
    row(`2. federation-sync: ${c.tpObjects} new objects × ${c.tpMembers} members, first store write to every hash seen`, 'objects/s', runs.map((r) => r.fedRate), 0),
    row('2. raw client: the same SSA PATCHes, 8 in flight and 50/s per member (no read first)', 'objects/s', runs.map((r) => r.rawSsaRate), 0),
    row('2. raw libs/kube MemberApplier.apply (GET, then SSA PATCH), same bounds', 'objects/s', runs.map((r) => r.rawApplierRate), 0),
    row('2. ratio federation-sync / raw SSA', '×', ratios, 2, `≥ 0.8×: ${verdict(pct(ratios, 50) >= 0.8)}`),
    row('2. ratio federation-sync / raw MemberApplier', '×', ratiosApplier, 2),
    row(`3. restart: replica spawned until all ${c.placements} placements confirmed (${c.coldObjects} × ${c.coldMembers} of them)`, 's', verified, 1, `≤ 60 s: ${verdict(pct(verified, 50) <= 60)}`),
    row('3. restart: replica spawned until idle (first poll at or after "confirmed" with no object and no member request queued)', 's', colds.map((x) => x.idleS)),
    row('3. restart: replica spawned until ready (/readyz)', 's', colds.map((x) => x.readyS)),
    row(`3. apply (PATCH) requests received by the ${c.coldMembers} members during the restart`, 'requests', colds.map((x) => x.patches), 0, `0: ${verdict(colds.every((x) => x.patches === 0))}`),
    row('3. other writes (POST, PUT, DELETE) received by those members', 'requests', colds.map((x) => x.otherWrites), 0),
    row('3. GET requests received by those members (lists, watches, discovery, reads)', 'requests', colds.map((x) => x.gets), 0),
    row('3. federated objects whose stored resourceVersion changed (status written)', `of ${c.coldObjects + 1} in the cold namespace`, colds.map((x) => x.storeWrites), 0),
    row('3. apply_total{result="unchanged"} of the new replica (≥ placements: some confirmed twice)', 'member objects', colds.map((x) => x.unchanged), 0),
    row('3. apply_total{result="applied"} of the new replica', 'member objects', colds.map((x) => x.applied), 0),
    row('4. replica RSS peak, sampled every 200 ms from spawn to idle', 'MiB', rss, 0, `≤ 1024 MiB: ${verdict(pct(rss, 50) <= 1024)}`),
    row('4. replica RSS 2 s after idle', 'MiB', colds.map((x) => x.rssIdleMiB), 0),
    '',
    `Seeding the cold-start state (not a goal): a replica with FLOTILLA_FEDERATION_MEMBER_QPS=100000 and CONCURRENCY=32 placed the ${c.coldObjects} × ${c.coldMembers} objects in ${f(c.seedS, 0)} s; the measured restarts use the defaults.`,
    '',
    ...colds.filter((x) => x.note).map((x, i) => `Restart ${i + 1}: ${x.note}`),
    '',
  ].join('\n');
  const file = join(__dirname, '..', 'RESULTS.md');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n\n';
  const header = [
    '## federation',
    '',
    'Produced by `bench/federation.bench.ts` (issue 15, section "Performance"; its header says what each figure means).',
    'Measure 1 times the write to the moment a metadata-only watch on each member shows the new hash annotation (not the status).',
    'Measure 3 is a restart of federation-sync with every object already placed and its status written; "confirmed" is read from',
    "the replica's flotilla_federation_apply_total (applied + unchanged ≥ placements), idle from flotilla_federation_objects_queued and",
    'flotilla_federation_member_queue_depth; the service exposes no "re-verified everything" signal of its own.',
    '',
  ].join('\n');
  const sectionRe = /## federation\n[\s\S]*?(?=\n## (?!#)|$)/;
  let section = sectionRe.exec(current)?.[0] ?? header;
  const esc = title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const subRe = new RegExp(`${esc}\\n[\\s\\S]*?(?=\\n### |$)`);
  section = subRe.test(section) ? section.replace(subRe, lines) : `${section.trimEnd()}\n\n${lines}`;
  const next = sectionRe.test(current) ? current.replace(sectionRe, section.trimEnd() + '\n') : `${current.trimEnd()}\n\n${section}`;
  writeFileSync(file, next.endsWith('\n') ? next : `${next}\n`);
  return lines;
}
