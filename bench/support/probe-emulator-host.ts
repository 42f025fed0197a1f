/**
 * Emulator host for bench/health-probe.bench.ts: n virtual clusters plus the control endpoint,
 * like tools/kube-emulator.ts, but it survives and leaves out clusters whose generated TLS
 * material Node refuses ("asn1 illegal padding", an infidelity of the emulator's DER encoder,
 * about 1 cluster in 150-300): each cluster is probed once at start, and only those that answer
 * are listed in <out>/clusters.json.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeEmulator, startControlServer } from '@flotilla/kube-emulator';
import { ClusterProber, MemberAddressPolicy, parseKubeconfig } from '@flotilla/kube';

/** Emulated members listen on loopback. */
const loopbackPolicy = new MemberAddressPolicy({ allowLoopback: true });

let tlsFailures = 0;
process.on('uncaughtException', (e: Error & { code?: string }) => {
  if (e.code === 'ERR_OSSL_ASN1_ILLEGAL_PADDING' || /asn1|PEM/i.test(e.message)) {
    tlsFailures++;
    return;
  }
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const n = Number(argv[argv.indexOf('--clusters') + 1]);
  const out = argv[argv.indexOf('--out') + 1];
  const emu = await KubeEmulator.start({ clusters: n });
  const control = await startControlServer(emu, 0);
  const good: { name: string; kubeSystemUid: string; kubeconfig: string }[] = [];
  const all = emu.clusters();
  let i = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (i < all.length) {
        const c = all[i++];
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
  mkdirSync(out, { recursive: true });
  // Written whole, then renamed: the bench waits for this file and must never read half of it.
  writeFileSync(join(out, 'clusters.json.tmp'), JSON.stringify({ control: control.url, started: n, left_out: n - good.length, tlsFailures, clusters: good }));
  renameSync(join(out, 'clusters.json.tmp'), join(out, 'clusters.json'));
  process.stdout.write(`probe-emulator-host ready: ${good.length} of ${n} usable\n`);
  process.on('SIGTERM', () => void emu.stop().then(() => process.exit(0)));
}

main().catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
