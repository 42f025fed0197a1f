/**
 * federation-sync (issue 15, "Performance"). Writes the "## federation" section of bench/RESULTS.md.
 *
 *   npm run bench -- --only federation [--quick] [--runs 3] [--members 100] [--changes 20]
 *     [--objects 200] [--tp-members 10] [--cold-objects 10000] [--cold-members 10]
 *
 * One emulator process with the members (bench/support/federation-emulator-host.ts), the registry
 * and ONE federation-sync replica from source, each its own process; federated objects are written
 * straight into the registry's object store with the gateway's identity (ObjectsClient), as the
 * gateway stores them. Every member is watched by this process (metadata only, the hash annotation).
 *  1. One FederatedConfigMap placed on every member; `--changes` template changes, each timed from
 *     the store write to the new hash seen on every member (p50, p99), and per member.
 *  2. `--objects` new FederatedConfigMaps on `--tp-members` members: member objects per second from
 *     the first store write to every hash seen, vs the same SSA PATCHes from a raw client with the
 *     replica's default bounds (8 in flight, 50/s per member) and vs libs/kube MemberApplier.apply.
 *  3. `--cold-objects` FederatedConfigMaps on `--cold-members` members, placed once by a fast-seeding
 *     replica; then, per run, the replica is restarted with its defaults: time from spawn until every
 *     placement is confirmed and until idle, the requests the members received meanwhile (PATCH must
 *     be 0), and how many stored objects were rewritten.
 *  4. The replica's RSS during and after that restart.
 * `--quick`: 20 members, 5 changes, 50 objects, 500 cold objects, one run (minutes; RESULTS.md untouched).
 */
import { memberObjectFor } from '@flotilla/domain';
import { type PlatformEnv, preparePlatformEnv } from '@flotilla/testing';
import { CM_INFO, NS_INFO, Observer, type RawClient, expectedHash, rawApplier, rawSsa } from './support/federation-members';
import { type ColdResult, type RunResult, pct, writeResults } from './support/federation-results';
import {
  EmulatorHost, FED_CM, FED_NS, type Json, type Member, type Proc, Store, federatedConfigMap, federatedNamespace, metric, rssMiB, sleep, startRegistry, startSync, stopProc,
} from './support/federation-stack';
import { pool } from './support/pool';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const arg = (name: string, def: number, quick: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : QUICK ? quick : def;
};
const RUNS = arg('runs', 3, 1);
const MEMBERS = arg('members', 100, 20);
const CHANGES = arg('changes', 20, 5);
const TP_OBJECTS = arg('objects', 200, 50);
const TP_MEMBERS = arg('tp-members', 10, 5);
const COLD_OBJECTS = arg('cold-objects', 10_000, 500);
const COLD_MEMBERS = arg('cold-members', 10, 5);
const COLD_TIMEOUT_S = arg('cold-timeout', 600, 300);
const SEED_ENV = { FLOTILLA_FEDERATION_MEMBER_QPS: '100000', FLOTILLA_FEDERATION_MEMBER_CONCURRENCY: '32' };
const log = (s: string) => process.stdout.write(`federation bench: ${s}\n`);

/** Member objects every replica must confirm after a restart (each placed federated object × its members). */
let placements = 0;

function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what()} not done within ${ms / 1000} s`)), ms)))]).finally(() => clearTimeout(timer));
}

/** Waits until `members` show `fed`'s hash (namespace '' for cluster-scoped member objects); resolves with the latest arrival. */
async function seen(obs: Observer, members: Member[], info: typeof CM_INFO, fed: Json, memberNs: string): Promise<number[]> {
  return Promise.all(members.map((m) => obs.expect(m.name, memberNs, fed.metadata.name as string, expectedHash(info, fed, m.name))));
}

async function latency(store: Store, obs: Observer, members: Member[], run: number): Promise<Pick<RunResult, 'everywhereMs' | 'perMemberMs'>> {
  const ns = `lat-${run}`;
  const fns = await store.create(FED_NS, federatedNamespace(ns, { bench: 'fed' }));
  const cm = await store.create(FED_CM, federatedConfigMap(ns, 'cm', { bench: 'fed' }, { v: '0' }));
  placements += 2 * members.length;
  await within(Promise.all([seen(obs, members, NS_INFO, fns.object, ''), seen(obs, members, CM_INFO, cm.object, ns)]), 120_000, () => `first placement on ${members.length} members (${obs.pending()} pending)`);
  const everywhereMs: number[] = [];
  const perMemberMs: number[] = [];
  for (let c = 1; c <= CHANGES; c++) {
    let t0 = 0;
    const stored = await store.change(FED_CM, 'cm', ns, (o) => (o.spec.template.data = { v: String(c) }), () => (t0 = performance.now()));
    const at = await within(seen(obs, members, CM_INFO, stored.object, ns), 60_000, () => `change ${c} (${obs.pending()} members pending)`);
    everywhereMs.push(Math.max(...at) - t0);
    perMemberMs.push(...at.map((t) => Math.max(0, t - t0)));
    await sleep(300);
  }
  log(`run ${run}: change to ${members.length} members: p50 ${pct(everywhereMs, 50).toFixed(0)} ms, p99 ${pct(everywhereMs, 99).toFixed(0)} ms`);
  return { everywhereMs, perMemberMs };
}

const names = Array.from({ length: TP_OBJECTS }, (_, i) => `o-${i}`);

async function throughputFed(store: Store, obs: Observer, members: Member[], run: number): Promise<number> {
  const ns = `tp-${run}`;
  const fns = await store.create(FED_NS, federatedNamespace(ns, { tp: 'yes' }));
  await within(seen(obs, members, NS_INFO, fns.object, ''), 60_000, () => `namespace ${ns}`);
  placements += (TP_OBJECTS + 1) * members.length;
  const t0 = performance.now();
  const arrivals: Promise<number[]>[] = [];
  await pool(names, 16, async (name) => {
    const stored = await store.create(FED_CM, federatedConfigMap(ns, name, { tp: 'yes' }, { k: name }));
    arrivals.push(seen(obs, members, CM_INFO, stored.object, ns));
  });
  await within(Promise.all(arrivals), 300_000, () => `federation-sync throughput (${obs.pending()} pending)`);
  return (TP_OBJECTS * members.length) / ((performance.now() - t0) / 1000);
}

async function throughputRaw(obs: Observer, members: Member[], ns: string, make: (m: Member) => RawClient): Promise<number> {
  const clients = members.map(make);
  try {
    await Promise.all(clients.map((c, i) => c.applyAll([{ ...memberOf(NS_INFO, federatedNamespace(ns, {}), members[i]!) }])));
    const feds = names.map((name) => federatedConfigMap(ns, name, {}, { k: name }));
    const t0 = performance.now();
    await Promise.all(clients.map((c, i) => c.applyAll(feds.map((fed) => memberOf(CM_INFO, fed, members[i]!)))));
    await within(Promise.all(feds.map((fed) => seen(obs, members, CM_INFO, fed, ns))), 60_000, () => `raw objects seen (${obs.pending()} pending)`);
    return (TP_OBJECTS * members.length) / ((performance.now() - t0) / 1000);
  } finally {
    for (const c of clients) c.close();
  }
}

/** Waits (at most 60 s) until the replica has nothing queued, twice in a row. */
async function quiet(url: string): Promise<void> {
  let calm = 0;
  for (let i = 0; i < 300 && calm < 2; i++) {
    const queued = (await metric(url, 'flotilla_federation_objects_queued')) + (await metric(url, 'flotilla_federation_member_queue_depth'));
    calm = queued === 0 ? calm + 1 : 0;
    await sleep(200);
  }
}

function memberOf(info: typeof CM_INFO, fed: Json, m: Member): Json {
  return memberObjectFor(info, fed, m.name) as unknown as Json;
}

async function seed(platform: PlatformEnv, store: Store, members: Member[]): Promise<number> {
  await store.create(FED_NS, federatedNamespace('cold', { cold: 'yes' }));
  placements += (COLD_OBJECTS + 1) * members.length;
  const t0 = performance.now();
  await pool(Array.from({ length: COLD_OBJECTS }, (_, i) => `c-${i}`), 32, async (name) => void (await store.create(FED_CM, federatedConfigMap('cold', name, { cold: 'yes' }, { k: name }))));
  log(`stored ${COLD_OBJECTS} cold objects in ${((performance.now() - t0) / 1000).toFixed(0)} s; seeding members`);
  const sync = await startSync(platform, SEED_ENV);
  try {
    for (;;) {
      if ((performance.now() - t0) / 1000 > 3600) throw new Error('seeding the cold-start state took over an hour');
      await sleep(5000);
      let applied = 0;
      let cont: string | undefined;
      do {
        const page = await store.objects.list(FED_CM, { namespace: 'cold', limit: 1000, ...(cont ? { continue: cont } : {}) });
        for (const o of page.items) {
          const clusters = ((o.object as Json).status?.clusters ?? []) as Json[];
          if (clusters.length === members.length && clusters.every((c) => c.status === 'Applied')) applied++;
        }
        cont = page.continue || undefined;
      } while (cont);
      log(`seeding: ${applied} of ${COLD_OBJECTS} cold objects Applied on all ${members.length} members`);
      if (applied === COLD_OBJECTS && (await metric(sync.url, 'flotilla_federation_objects_queued')) === 0) return (performance.now() - t0) / 1000;
    }
  } finally {
    await stopProc(sync.proc);
  }
}

async function restart(platform: PlatformEnv, store: Store, host: EmulatorHost, members: Member[]): Promise<ColdResult> {
  const before = await store.versions(FED_CM, 'cold');
  host.record(members.map((m) => m.name));
  const sync = await startSync(platform);
  const readyS = (performance.now() - sync.spawnedAt) / 1000;
  let rssPeak = rssMiB(sync.proc.child.pid!);
  let verifiedS = NaN;
  let idleS = NaN;
  let confirmed = 0;
  let note = '';
  try {
    for (;;) {
      const elapsed = (performance.now() - sync.spawnedAt) / 1000;
      rssPeak = Math.max(rssPeak, rssMiB(sync.proc.child.pid!));
      confirmed = (await metric(sync.url, 'flotilla_federation_apply_total', 'result="unchanged"')) + (await metric(sync.url, 'flotilla_federation_apply_total', 'result="applied"'));
      if (Number.isNaN(verifiedS) && confirmed >= placements) verifiedS = elapsed;
      if (!Number.isNaN(verifiedS)) {
        const queued = (await metric(sync.url, 'flotilla_federation_objects_queued')) + (await metric(sync.url, 'flotilla_federation_member_queue_depth'));
        if (queued === 0) {
          idleS = elapsed;
          break;
        }
      }
      if (elapsed > COLD_TIMEOUT_S) {
        note = `not idle ${COLD_TIMEOUT_S} s after spawn: ${confirmed} of ${placements} placements confirmed.`;
        break;
      }
      await sleep(200);
    }
    await sleep(2000);
    const counts = await host.counts();
    const after = await store.versions(FED_CM, 'cold');
    const storeWrites = [...after].filter(([k, v]) => before.get(k) !== v).length;
    const result: ColdResult = {
      verifiedS, idleS, readyS, storeWrites, note,
      patches: counts.PATCH ?? 0,
      gets: counts.GET ?? 0,
      otherWrites: (counts.POST ?? 0) + (counts.PUT ?? 0) + (counts.DELETE ?? 0),
      applied: await metric(sync.url, 'flotilla_federation_apply_total', 'result="applied"'),
      unchanged: await metric(sync.url, 'flotilla_federation_apply_total', 'result="unchanged"'),
      rssPeakMiB: rssPeak,
      rssIdleMiB: rssMiB(sync.proc.child.pid!),
    };
    log(`restart: confirmed ${verifiedS.toFixed(1)} s, idle ${idleS.toFixed(1)} s, PATCH ${result.patches}, GET ${result.gets}, store writes ${storeWrites}, RSS peak ${rssPeak.toFixed(0)} MiB ${note}`);
    return result;
  } finally {
    await stopProc(sync.proc);
  }
}

async function main(): Promise<void> {
  const procs: Proc[] = [];
  let platform: PlatformEnv | undefined;
  let store: Store | undefined;
  let obs: Observer | undefined;
  try {
    const started = await EmulatorHost.start(Math.ceil(MEMBERS * 1.03) + 2);
    procs.push(started.host.proc);
    const members = started.members.slice(0, MEMBERS);
    if (members.length < MEMBERS) throw new Error(`only ${members.length} usable emulated clusters`);
    platform = await preparePlatformEnv();
    procs.push(await startRegistry(platform));
    store = new Store(platform);
    await store.register(members, (_, i) => ({ bench: 'fed', ...(i < TP_MEMBERS ? { tp: 'yes' } : {}), ...(i < COLD_MEMBERS ? { cold: 'yes' } : {}) }));
    await store.fleetAdmin();
    log(`${members.length} members registered`);
    const sync = await startSync(platform);
    procs.push(sync.proc);
    obs = new Observer(members);
    const o = obs;
    await within((async () => { while (!o.synced()) await sleep(100); })(), 60_000, () => 'observer watches');
    const runs: RunResult[] = [];
    const tpMembers = members.slice(0, TP_MEMBERS);
    for (let r = 1; r <= RUNS; r++) {
      await quiet(sync.url);
      const lat = await latency(store, obs, members, r);
      // The three throughput phases start with the replica idle, in an order rotated per run.
      const rates: Record<string, number> = {};
      const phases: [string, () => Promise<number>][] = [
        ['fed', () => throughputFed(store!, o, tpMembers, r)],
        ['ssa', () => throughputRaw(o, tpMembers, `tp-${r}-raw`, (m) => rawSsa(m, 8, 50))],
        ['applier', () => throughputRaw(o, tpMembers, `tp-${r}-applier`, (m) => rawApplier(m, 8, 50))],
      ];
      for (let i = 0; i < phases.length; i++) {
        const [name, phase] = phases[(i + r - 1) % phases.length]!;
        await quiet(sync.url);
        rates[name] = await phase();
      }
      const [fedRate, rawSsaRate, rawApplierRate] = [rates.fed!, rates.ssa!, rates.applier!];
      log(`run ${r}: throughput federation-sync ${fedRate.toFixed(0)}/s, raw SSA ${rawSsaRate.toFixed(0)}/s, raw MemberApplier ${rawApplierRate.toFixed(0)}/s`);
      runs.push({ ...lat, fedRate, rawSsaRate, rawApplierRate });
    }
    obs.close();
    obs = undefined;
    await stopProc(sync.proc);
    const coldMembers = members.slice(0, COLD_MEMBERS);
    const seedS = await seed(platform, store, coldMembers);
    log(`seeded in ${seedS.toFixed(0)} s`);
    const colds: ColdResult[] = [];
    for (let r = 1; r <= RUNS; r++) colds.push(await restart(platform, store, started.host, coldMembers));
    const command = `npm run bench -- --only federation${QUICK ? ' --quick' : ''} (--runs ${RUNS} --members ${MEMBERS} --changes ${CHANGES} --objects ${TP_OBJECTS} --tp-members ${TP_MEMBERS} --cold-objects ${COLD_OBJECTS} --cold-members ${COLD_MEMBERS})`;
    const config = { command, members: MEMBERS, changes: CHANGES, tpObjects: TP_OBJECTS, tpMembers: TP_MEMBERS, coldObjects: COLD_OBJECTS, coldMembers: COLD_MEMBERS, placements, seedS, leftOut: started.leftOut, writePath: 'straight into the registry\'s object store (ObjectsClient with the gateway\'s identity, as the gateway stores them: last writer, finalizer), not through the gateway REST' };
    if (QUICK) log(`quick mode: RESULTS.md untouched\n${JSON.stringify({ config, runs: runs.map((x) => ({ ...x, perMemberMs: undefined })), colds }, null, 1)}`);
    else process.stdout.write(`${writeResults(config, runs, colds)}\n`);
  } catch (error) {
    for (const p of procs) process.stderr.write(`--- process ${p.child.pid} (exit ${p.child.exitCode ?? p.child.signalCode}):\n${p.out().slice(-3000)}\n`);
    throw error;
  } finally {
    obs?.close();
    store?.close();
    for (const p of procs.reverse()) await stopProc(p);
    await platform?.cleanup().catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
