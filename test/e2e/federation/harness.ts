import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
// Test code (a helper of federation.e2e-spec.ts): the restriction keeps the test libraries out of services and libs.
import { ClusterHandle, KubeEmulator, kubectl, writeKubeconfig } from '@flotilla/kube-emulator';
import { PlatformEnv, ServiceProcess, WORKSPACE_ROOT, eventually, freePort, httpsCall, makeDevPki, preparePlatformEnv, startPlatformProcesses } from '@flotilla/testing';

/**
 * The platform issue 15's proof runs against: every service as its own process (built as `npm start`
 * builds it), the gateway on HTTPS (kubectl sends no bearer token over plain http), five emulated
 * members imported through REST, and a real kubectl for each member and for Flotilla itself.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read loosely, as in every e2e spec
export type Json = Record<string, any>;
export interface Answer {
  status: number;
  json: Json;
  text: string;
}

export const CLUSTERS = '/apis/cluster.kubesphere.io/v1alpha1/clusters';
export const NAMESPACES = '/api/v1/namespaces';
export const KUBEFED = '/apis/types.kubefed.io/v1beta1';
export const SCHEDULING = '/apis/scheduling.kubefed.io/v1alpha1';
/** Every namespaced federated object of this suite lives here. */
export const NS = 'shop';
export const fedPath = (plural: string, name?: string, ns = NS) => `${KUBEFED}/namespaces/${ns}/${plural}${name ? `/${name}` : ''}`;
export const MEMBERS = ['m1', 'm2', 'm3', 'm4', 'm5'] as const;
export type Member = (typeof MEMBERS)[number];

export class FederationRig {
  platform!: PlatformEnv;
  emu!: KubeEmulator;
  procs!: Record<string, ServiceProcess>;
  readonly members = new Map<Member, ClusterHandle>();
  private readonly memberKubeconfigs = new Map<Member, string>();
  private pki = '';
  private ca = '';
  base = '';
  /** A kubeconfig reaching Flotilla's own API as the admin. */
  flotillaKubeconfig = '';

  async start(): Promise<void> {
    this.emu = await KubeEmulator.start({ clusters: 0 });
    for (const name of MEMBERS) {
      const c = await this.emu.addCluster({ name: `emu-${name}`, flavour: 'kubeadm' });
      this.members.set(name, c);
      this.memberKubeconfigs.set(name, writeKubeconfig(c.kubeconfig('admin')));
    }
    this.platform = await preparePlatformEnv();
    this.pki = mkdtempSync(join(tmpdir(), 'flotilla-federation-e2e-'));
    makeDevPki(this.pki, ['gateway']);
    this.ca = readFileSync(join(this.pki, 'ca.crt'), 'utf8');
    // debug logs: the secrets test proves that not even debug lines hold a FederatedSecret's data.
    const log = { LOG_LEVEL: 'debug' };
    this.procs = await startPlatformProcesses(this.platform, {
      registry: log,
      'provider-import': log,
      // A dead member is confirmed within a few seconds (3 failures at a 1 s interval).
      'health-probe': { ...log, PROBE_INTERVAL_MS: '1000' },
      // The drift comparison period stays at its default (300 s): a repair within seconds can only come from the watch.
      'federation-sync': { ...log, FLOTILLA_FEDERATION_ORPHAN_AFTER_SECONDS: '3' },
      gateway: log,
    });
    // kubectl sends a bearer token only over HTTPS, and startPlatformProcesses waits for a plain-http
    // /readyz: a second gateway replica, on HTTPS, serves this suite (REST and kubectl alike).
    this.procs['gateway-https'] = await this.startHttpsGateway({
      ...this.platform.env('gateway'),
      ...log,
      PORT: String(await freePort()),
      GRPC_PORT: String(await freePort()),
      FLOTILLA_FEED_POLL_MS: '100',
      FLOTILLA_GATEWAY_TLS_CERT: join(this.pki, 'gateway.crt'),
      FLOTILLA_GATEWAY_TLS_KEY: join(this.pki, 'gateway.key'),
      FLOTILLA_GATEWAY_TLS_CA: join(this.pki, 'ca.crt'),
    });
    this.flotillaKubeconfig = writeKubeconfig(
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'flotilla', cluster: { server: this.base, 'certificate-authority-data': Buffer.from(this.ca).toString('base64') } }],
        users: [{ name: 'admin', user: { token: this.platform.adminToken } }],
        contexts: [{ name: 'flotilla', context: { cluster: 'flotilla', user: 'admin' } }],
        'current-context': 'flotilla',
      }),
    );
  }

  /** The built gateway (dist/, as startPlatformProcesses built it) as its own process on HTTPS; ready once its /readyz answers 200. */
  private async startHttpsGateway(env: NodeJS.ProcessEnv): Promise<ServiceProcess> {
    this.base = `https://127.0.0.1:${env.PORT}`;
    const child = spawn(process.execPath, [join(WORKSPACE_ROOT, 'dist/services/gateway/src/main.js')], { cwd: WORKSPACE_ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`the HTTPS gateway exited with ${child.exitCode}: ${out}`);
        expect((await this.call('GET', '/readyz')).status).toBe(200);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    ).catch((error: unknown) => {
      child.kill('SIGKILL');
      throw error;
    });
    return {
      name: 'gateway',
      child,
      output: () => out,
      stop: async () => {
        if (child.exitCode === null) child.kill('SIGTERM');
        return exited;
      },
    };
  }

  async stop(): Promise<void> {
    await Promise.all(Object.values(this.procs ?? {}).map((p) => p.stop()));
    await this.emu?.stop();
    await this.platform?.cleanup();
    if (this.pki) rmSync(this.pki, { recursive: true, force: true });
  }

  member(name: Member): ClusterHandle {
    return this.members.get(name)!;
  }

  /** A REST call to the gateway over HTTPS, as the admin. */
  call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Answer> {
    return httpsCall({ base: this.base, ca: this.ca, token: this.platform.adminToken }, method, path, { body, contentType });
  }

  /** A call that must answer `status`; its body otherwise, in the failure message. */
  async expectCall(status: number, method: string, path: string, body?: unknown, contentType?: string): Promise<Json> {
    const a = await this.call(method, path, body, contentType);
    if (a.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${a.status}: ${a.text.slice(0, 2000)}`);
    return a.json;
  }

  /** A real kubectl against Flotilla's own API. */
  flotillaKubectl(args: string[], input?: string) {
    return kubectl(args, { kubeconfig: this.flotillaKubeconfig, input, timeoutMs: 30_000 });
  }

  /** A real kubectl against a member, as its admin. */
  kubectl(member: Member, args: string[], input?: string) {
    return kubectl(args, { kubeconfig: this.memberKubeconfigs.get(member)!, input, timeoutMs: 30_000 });
  }

  /** The object in a member (`kubectl get -o json`), or undefined when it is not there. */
  async memberObject(member: Member, kind: string, name: string, namespace?: string): Promise<Json | undefined> {
    const r = await this.kubectl(member, ['get', kind, name, ...(namespace ? ['-n', namespace] : []), '-o', 'json', '--ignore-not-found']);
    if (r.code !== 0) throw new Error(`kubectl get ${kind} ${name} in ${member}: ${r.stderr}`);
    return r.stdout.trim() ? (JSON.parse(r.stdout) as Json) : undefined;
  }

  /** Imports every member through REST (its admin kubeconfig, the kubeconfig path) and waits until each is Ready. */
  async importMembers(): Promise<void> {
    for (const name of MEMBERS) {
      await this.expectCall(201, 'POST', CLUSTERS, {
        apiVersion: 'cluster.kubesphere.io/v1alpha1',
        kind: 'Cluster',
        metadata: { name },
        spec: { provider: 'kubeadm', connection: { type: 'direct', kubeconfig: this.member(name).kubeconfig('admin') } },
      });
    }
    for (const name of MEMBERS) await this.waitReady(name, 'True');
  }

  async label(member: Member, labels: Record<string, string | null>): Promise<void> {
    await this.expectCall(200, 'PATCH', `${CLUSTERS}/${member}`, { metadata: { labels } }, 'application/merge-patch+json');
  }

  /** Waits until health-probe shows the cluster's Ready condition with `status`. */
  async waitReady(member: Member, status: 'True' | 'False'): Promise<void> {
    await eventually(
      async () => {
        const c = await this.expectCall(200, 'GET', `${CLUSTERS}/${member}`);
        expect([member, (c.status?.conditions ?? []).find((x: Json) => x.type === 'Ready')?.status]).toEqual([member, status]);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  }

  /** The federated object's per-cluster status, by cluster name. */
  static clusterStatus(fed: Json): Record<string, Json> {
    return Object.fromEntries(((fed.status?.clusters ?? []) as Json[]).map((c) => [c.name as string, c]));
  }

  static condition(fed: Json, type: string): Json | undefined {
    return ((fed.status?.conditions ?? []) as Json[]).find((c) => c.type === type);
  }

  /** Every service's output so far (stdout and stderr). */
  logs(): string {
    return Object.values(this.procs).map((p) => p.output()).join('\n');
  }

  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.platform.ports.syncHttp}/metrics`)).text();
  }
}

/** Waits (up to `timeoutMs`) for an assertion, with a short poll: the proof's timing bound. */
export const within = <T>(timeoutMs: number, assertion: () => T | Promise<T>) => eventually(assertion, { timeoutMs, intervalMs: 250 });
