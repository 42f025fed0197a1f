/**
 * npm run kube-emulator -- --clusters <n> --out <dir> [--control-port <port>] [--flavour kubeadm|eks|ack|mixed] [--version v1.30.4]
 *
 * Starts <n> virtual Kubernetes API servers on 127.0.0.1, writes <dir>/<cluster>/{admin,readonly,noaccess}.kubeconfig
 * (plus eks-exec.kubeconfig for EKS clusters) and <dir>/clusters.json, prints one line when ready and runs until
 * SIGINT/SIGTERM.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KubeEmulator, startControlServer, type ClusterSpec, type Flavour } from '@flotilla/kube-emulator';

interface Args {
  clusters: number;
  out: string;
  controlPort: number;
  flavour: Flavour | 'mixed';
  version?: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { clusters: 3, out: resolve('.flotilla/kube-emulator'), controlPort: 0, flavour: 'mixed' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--clusters') args.clusters = Number(next());
    else if (a === '--out') args.out = resolve(next());
    else if (a === '--control-port') args.controlPort = Number(next());
    else if (a === '--flavour') args.flavour = next() as Args['flavour'];
    else if (a === '--version') args.version = next();
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run kube-emulator -- --clusters <n> --out <dir> [--control-port <port>] [--flavour kubeadm|eks|ack|mixed] [--version v1.30.4]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(args.clusters) || args.clusters < 1) throw new Error('--clusters must be a positive integer');
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const flavours: Flavour[] = ['kubeadm', 'eks', 'ack'];
  const specs: ClusterSpec[] = Array.from({ length: args.clusters }, (_, i) => ({
    flavour: args.flavour === 'mixed' ? flavours[i % 3] : args.flavour,
    version: args.version,
  }));
  const started = Date.now();
  const emu = await KubeEmulator.start({ clusters: specs });
  const control = await startControlServer(emu, args.controlPort);
  const index: Array<Record<string, string>> = [];
  for (const c of emu.clusters()) {
    const dir = join(args.out, c.name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'admin.kubeconfig'), c.kubeconfig('admin'), { mode: 0o600 });
    writeFileSync(join(dir, 'readonly.kubeconfig'), c.kubeconfig('readonly'), { mode: 0o600 });
    writeFileSync(join(dir, 'noaccess.kubeconfig'), c.kubeconfig('noaccess'), { mode: 0o600 });
    if (c.flavour === 'eks') writeFileSync(join(dir, 'eks-exec.kubeconfig'), c.kubeconfig('eks-exec'), { mode: 0o600 });
    index.push({ name: c.name, flavour: c.flavour, server: c.server, version: c.version, kubeSystemUid: c.kubeSystemUid, dir });
  }
  // Written whole, then renamed, so that whoever waits for the file never reads half of it.
  writeFileSync(join(args.out, 'clusters.json.tmp'), `${JSON.stringify({ control: control.url, clusters: index }, null, 2)}\n`);
  renameSync(join(args.out, 'clusters.json.tmp'), join(args.out, 'clusters.json'));
  process.stdout.write(`kube-emulator ready: ${args.clusters} clusters in ${Date.now() - started} ms, kubeconfigs in ${args.out}, control ${control.url}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    void Promise.all([emu.stop(), control.close()]).then(() => {
      process.stderr.write(`kube-emulator stopped (${signal})\n`);
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((e: Error) => {
  process.stderr.write(`kube-emulator: ${e.message}\n`);
  process.exit(1);
});
