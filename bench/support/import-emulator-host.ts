/**
 * Emulator host for bench/import.bench.ts: n kubeadm virtual clusters in their own process (so the
 * import path and the members do not share one event loop). Clusters whose generated TLS material
 * Node refuses ("asn1 illegal padding") or whose serving certificate does not verify against their
 * own CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE, about 1 in 800), both emulator infidelities, are left out. Writes
 * [{ name, kubeconfig }] to --out, prints "ready", runs until SIGTERM.
 */
import { writeFileSync } from 'node:fs';
import { connect, createSecureContext } from 'node:tls';
import { KubeEmulator } from '@flotilla/kube-emulator';

/** One TLS handshake that must verify against the cluster's CA. */
function verifies(port: number, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, ca, rejectUnauthorized: false });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, 2000);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(s.authorized);
      s.destroy();
    });
    s.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const n = Number(argv[argv.indexOf('--clusters') + 1]);
  const out = argv[argv.indexOf('--out') + 1]!;
  const emu = await KubeEmulator.start({ clusters: Array.from({ length: n }, () => ({ flavour: 'kubeadm' as const })) });
  const good: { name: string; kubeconfig: string }[] = [];
  for (const h of emu.clusters()) {
    const pki = (h as unknown as { c: { pki: { caPem: string; serverCertPem: string; serverKeyPem: string } } }).c.pki;
    try {
      createSecureContext({ key: pki.serverKeyPem, cert: pki.serverCertPem, ca: pki.caPem });
      const client = h.adminClientCertificate();
      createSecureContext({ key: client.keyPem, cert: client.certPem });
      if (!(await verifies(h.port, pki.caPem))) continue;
      good.push({ name: h.name, kubeconfig: h.kubeconfig('admin') });
    } catch {
      // left out: see the header
    }
  }
  writeFileSync(out, JSON.stringify(good));
  process.stdout.write(`ready ${good.length}\n`);
  const stop = () => void emu.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main().catch((e: Error) => {
  process.stderr.write(`${e.stack ?? e.message}\n`);
  process.exit(1);
});
