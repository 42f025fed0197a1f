/**
 * Processes and store writes for bench/federation.bench.ts: the emulator host, the registry and
 * federation-sync replicas (from source, each its own process, so its RSS and CPU can be read), the
 * fleet registered as imported and Ready, and federated objects written straight into the
 * registry's object store with the gateway's identity (as the gateway stores them: last writer,
 * finalizer).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CLUSTER_API_VERSION, type Cluster, FEDERATION_FINALIZER, LAST_WRITER_ANNOTATION } from '@flotilla/domain';
import { ObjectsClient, RegistryClient, type StoredObject } from '@flotilla/clients';
import { type PlatformEnv, WORKSPACE_ROOT, eventually, freePort } from '@flotilla/testing';
import { pool } from './pool';

export type Json = Record<string, any>;

export const FED_NS = 'federatednamespaces.types.kubefed.io';
export const FED_CM = 'federatedconfigmaps.types.kubefed.io';
export const WRITER = 'bench-admin';

export interface Proc {
  child: ChildProcess;
  out: () => string;
}

export interface Member {
  name: string;
  kubeconfig: string;
  kubeSystemUid: string;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function run(args: string[], env: NodeJS.ProcessEnv, ipc = false): Proc {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', ...args], {
    cwd: WORKSPACE_ROOT,
    env: { PATH: process.env.PATH, SWC_NODE_PROJECT: process.env.SWC_NODE_PROJECT ? resolve(process.env.SWC_NODE_PROJECT) : join(WORKSPACE_ROOT, 'tsconfig.json'), ...env },
    stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? (['ipc'] as const) : [])],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  return { child, out: () => out };
}

export async function stopProc(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  await Promise.race([new Promise((r) => p.child.once('exit', r)), sleep(20_000)]);
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
}

/** RSS of a process in MiB, from /proc. */
export function rssMiB(pid: number): number {
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(rss?.[1] ?? 0) / 1024;
}

/** The emulator host process, with request counting over IPC. */
export class EmulatorHost {
  private readonly waiters: ((m: Json) => void)[] = [];
  constructor(readonly proc: Proc) {
    proc.child.on('message', (m: Json) => this.waiters.shift()?.(m));
  }

  static async start(clusters: number): Promise<{ host: EmulatorHost; members: Member[]; leftOut: number }> {
    const proc = run([join(WORKSPACE_ROOT, 'bench/support/federation-emulator-host.ts'), '--clusters', String(clusters)], {}, true);
    const host = new EmulatorHost(proc);
    const ready = await Promise.race([
      host.next(),
      new Promise<never>((_, reject) => proc.child.once('exit', () => reject(new Error(`emulator host exited: ${proc.out().slice(-2000)}`)))),
    ]);
    return { host, members: ready.ready.clusters, leftOut: ready.ready.leftOut };
  }

  private next(): Promise<Json> {
    return new Promise((r) => this.waiters.push(r));
  }

  record(clusters: string[]): void {
    this.proc.child.send({ op: 'record', clusters });
  }

  async counts(): Promise<Record<string, number>> {
    const reply = this.next();
    this.proc.child.send({ op: 'counts' });
    return (await reply).counts as Record<string, number>;
  }
}

export async function startRegistry(platform: PlatformEnv): Promise<Proc> {
  const registry = run([join(WORKSPACE_ROOT, 'services/registry/src/main.ts')], { ...platform.env('registry'), LOG_LEVEL: 'warn' });
  await eventually(async () => {
    if (registry.child.exitCode !== null) throw new Error(`registry exited: ${registry.out().slice(-2000)}`);
    if ((await fetch(`http://127.0.0.1:${platform.ports.registryHttp}/readyz`)).status !== 200) throw new Error('not ready');
  }, { timeoutMs: 90_000, intervalMs: 300 });
  return registry;
}

/** A federation-sync replica (defaults unless `env` says otherwise); resolves once it is ready. */
export async function startSync(platform: PlatformEnv, env: NodeJS.ProcessEnv = {}): Promise<{ proc: Proc; url: string; spawnedAt: number }> {
  const port = await freePort();
  const spawnedAt = performance.now();
  const proc = run([join(WORKSPACE_ROOT, 'services/federation-sync/src/main.ts')], {
    ...platform.env('federation-sync'),
    HTTP_PORT: String(port),
    GRPC_PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
    ...env,
  });
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => {
    if (proc.child.exitCode !== null) throw new Error(`federation-sync exited: ${proc.out().slice(-2000)}`);
    if ((await fetch(`${url}/readyz`)).status !== 200) throw new Error('not ready');
  }, { timeoutMs: 90_000, intervalMs: 100 });
  return { proc, url, spawnedAt };
}

/** Sum of a metric's samples whose labels contain `labels`, from one scrape. */
export async function metric(url: string, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(labels))
    .reduce((s, l) => s + Number(l.split(' ').pop()), 0);
}

/** The registry as the bench writes it: clusters with the operator identity, objects with the gateway's. */
export class Store {
  readonly objects: ObjectsClient;
  readonly registry: RegistryClient;

  constructor(platform: PlatformEnv) {
    const target = `127.0.0.1:${platform.ports.registryGrpc}`;
    this.objects = new ObjectsClient(target, platform.tokens.gateway, 30_000);
    this.registry = new RegistryClient(target, platform.internalToken);
  }

  close(): void {
    this.objects.close();
    this.registry.close();
  }

  /** Registers members as the import and health-probe leave them: Initialized, Ready, uid; with labels. */
  async register(members: Member[], labels: (m: Member, i: number) => Record<string, string>): Promise<void> {
    await pool(members.map((m, i) => ({ m, i })), 16, async ({ m, i }) => {
      const c: Cluster = { apiVersion: CLUSTER_API_VERSION, kind: 'Cluster', metadata: { name: m.name, labels: labels(m, i) }, spec: { provider: 'generic', connection: { type: 'direct', kubeconfig: m.kubeconfig } } };
      await this.registry.createCluster(c);
      await this.registry.updateClusterStatus(m.name, {
        uid: m.kubeSystemUid,
        conditions: [{ type: 'Initialized', status: 'True', reason: 'Imported', message: 'imported' }, { type: 'Ready', status: 'True', reason: 'ClusterReady', message: 'probed' }],
      });
    });
  }

  /** The writer is fleet-admin (GlobalRoleBinding), so every placement is allowed. */
  async fleetAdmin(): Promise<void> {
    await this.objects.create('globalrolebindings.iam.kubesphere.io', {
      apiVersion: 'iam.kubesphere.io/v1beta1',
      kind: 'GlobalRoleBinding',
      metadata: { name: `${WRITER}-fleet-admin` },
      subjects: [{ kind: 'User', name: WRITER }],
      roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name: 'fleet-admin' },
    });
  }

  create(resource: string, obj: Json): Promise<StoredObject> {
    const meta = obj.metadata as Json;
    const stored = { ...obj, metadata: { ...meta, annotations: { ...(meta.annotations ?? {}), [LAST_WRITER_ANNOTATION]: JSON.stringify({ user: WRITER, groups: [] }) }, finalizers: [FEDERATION_FINALIZER] } };
    return this.objects.create(resource, stored, meta.namespace as string);
  }

  /** Read, edit, then `write` (timed by the caller through `onWrite`); retried when a status write came in between. */
  async change(resource: string, name: string, namespace: string, edit: (o: Json) => void, onWrite: () => void): Promise<StoredObject> {
    for (let i = 0; ; i++) {
      const cur = (await this.objects.get(resource, name, namespace)).object as Json;
      edit(cur);
      onWrite();
      try {
        return await this.objects.update(resource, cur, namespace);
      } catch (error) {
        if (i > 20) throw error;
      }
    }
  }

  /** resourceVersion of every stored object of a resource in a namespace. */
  async versions(resource: string, namespace: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let cont: string | undefined;
    do {
      const page = await this.objects.list(resource, { namespace, limit: 1000, ...(cont ? { continue: cont } : {}) });
      for (const o of page.items) out.set(o.name, o.resourceVersion);
      cont = page.continue || undefined;
    } while (cont);
    return out;
  }
}

export const federatedNamespace = (ns: string, selector: Record<string, string>): Json => ({
  apiVersion: 'types.kubefed.io/v1beta1',
  kind: 'FederatedNamespace',
  metadata: { name: ns, namespace: ns },
  spec: { placement: { clusterSelector: { matchLabels: selector } } },
});

export const federatedConfigMap = (ns: string, name: string, selector: Record<string, string>, data: Record<string, string>): Json => ({
  apiVersion: 'types.kubefed.io/v1beta1',
  kind: 'FederatedConfigMap',
  metadata: { name, namespace: ns },
  spec: { template: { data }, placement: { clusterSelector: { matchLabels: selector } } },
});
