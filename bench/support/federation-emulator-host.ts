/**
 * Emulator host for bench/federation.bench.ts: `--clusters n` virtual clusters in ONE process
 * (workload controllers off: the bench places ConfigMaps and Namespaces only), driven over IPC.
 * Clusters whose generated TLS material Node refuses (an infidelity of the emulator's DER encoder,
 * about 1 in 150-300) are left out: each is reached once at start and only those that answer are
 * reported. Requests are counted per method while asked to: the emulator keeps at most 10,000
 * requests per cluster, so the log is drained every 200 ms into running totals.
 *
 * IPC in:  {op: 'record', clusters: string[]} (start counting afresh), {op: 'counts'}, {op: 'rss'}.
 * IPC out: {ready: {clusters: [{name, kubeconfig, kubeSystemUid}], leftOut}}, {counts: {GET: n, PATCH: n, ...}}, {rss}.
 */
import { KubeEmulator } from '@flotilla/kube-emulator';
import { ClusterProber, MemberAddressPolicy, parseKubeconfig } from '@flotilla/kube';

const loopbackPolicy = new MemberAddressPolicy({ allowLoopback: true });

process.on('uncaughtException', (e: Error & { code?: string }) => {
  if (e.code === 'ERR_OSSL_ASN1_ILLEGAL_PADDING' || /asn1|PEM/i.test(e.message)) return;
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const n = Number(argv[argv.indexOf('--clusters') + 1]);
  const emu = await KubeEmulator.start({ clusters: n, workloads: { enabled: false } });
  const good: { name: string; kubeSystemUid: string; kubeconfig: string }[] = [];
  const all = emu.clusters();
  let i = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (i < all.length) {
        const c = all[i++]!;
        try {
          const kubeconfig = c.kubeconfig('admin');
          const p = new ClusterProber(parseKubeconfig(kubeconfig), { timeoutMs: 5000, policy: loopbackPolicy });
          const o = await p.probe();
          p.close();
          if (o.reachable && o.readinessStatus === 200 && o.kubeSystemUid === c.kubeSystemUid) good.push({ name: c.name, kubeSystemUid: c.kubeSystemUid, kubeconfig });
        } catch {
          // left out
        }
      }
    }),
  );
  good.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));

  let recorded: string[] = [];
  let totals: Record<string, number> = {};
  const drain = () => {
    for (const name of recorded) {
      const h = emu.cluster(name);
      for (const r of h.requests()) totals[r.method] = (totals[r.method] ?? 0) + 1;
      h.recordRequests();
    }
  };
  setInterval(drain, 200).unref();
  process.on('message', (m: { op: string; clusters?: string[] }) => {
    if (m.op === 'record') {
      recorded = m.clusters ?? [];
      totals = {};
      for (const name of recorded) emu.cluster(name).recordRequests();
    } else if (m.op === 'counts') {
      drain();
      process.send!({ counts: totals });
    } else if (m.op === 'rss') process.send!({ rss: process.memoryUsage().rss });
  });
  process.on('disconnect', () => void emu.stop().then(() => process.exit(0)));
  process.send!({ ready: { clusters: good, leftOut: n - good.length } });
}

main().catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
