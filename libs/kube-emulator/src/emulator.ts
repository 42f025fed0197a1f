/** KubeEmulator: many virtual Kubernetes API servers in one process. */
import { VirtualCluster, type ClusterSpec, type ErrorRule, type HealthEndpoint, type RequestRecord, type StreamRecord, type UserKind } from './cluster/cluster';
import type { Flavour, NodeSpec } from './cluster/flavours';
import { containerNames } from './cluster/kubelet';
import type { WorkloadOptions } from './cluster/workloads';
import { kubeconfigFor } from './kubeconfig';
import { Network } from './server/network';
import type { PeerRecord } from './server/peers';

export interface EmulatorOptions {
  /** number of clusters to start (flavours rotate kubeadm, eks, ack) or explicit specs. */
  clusters?: number | ClusterSpec[];
  /** events kept per cluster for watch resumption (default 1000). */
  watchHistory?: number;
  /** delay before the emulated namespace controller empties a Terminating namespace (default 50 ms). */
  namespaceDeletionDelayMs?: number;
  /** BOOKMARK interval for watches that allow them (default 60 s, as a real apiserver). */
  bookmarkIntervalMs?: number;
  /** clusters created in parallel during start (default 64). */
  startConcurrency?: number;
  /**
   * Status controllers of Deployments, StatefulSets, DaemonSets and Jobs (default: on, ready
   * after 50 ms, none failing); a cluster's spec may override them, `setWorkloads` changes them.
   */
  workloads?: WorkloadOptions;
}

export type CredentialUser = 'admin' | 'readonly' | 'noaccess';

export interface ErrorRateOptions {
  pathPrefix?: string;
  regex?: RegExp | string;
  rate: number;
  code: number;
  message?: string;
}

/** A running virtual cluster as tests see it. */
export class ClusterHandle {
  constructor(
    private readonly c: VirtualCluster,
    private readonly net: Network,
  ) {}

  get name(): string {
    return this.c.name;
  }
  get flavour(): Flavour {
    return this.c.flavour;
  }
  get server(): string {
    return this.c.server;
  }
  get port(): number {
    return this.c.port;
  }
  get caPem(): string {
    return this.c.pki.caPem;
  }
  get kubeSystemUid(): string {
    return this.c.kubeSystemUid;
  }
  get version(): string {
    return this.c.gitVersion;
  }
  get region(): string {
    return this.c.region;
  }
  get nodes(): readonly NodeSpec[] {
    return this.c.nodes;
  }
  /** bearer tokens of the built-in users (admin is a token on EKS/ACK; on kubeadm admin.kubeconfig uses a client certificate). */
  get tokens(): Readonly<Record<CredentialUser, string>> {
    return this.c.tokens;
  }
  /** the admin client certificate (CN=kubernetes-admin, O=system:masters), PEM. */
  adminClientCertificate(): { certPem: string; keyPem: string } {
    return this.c.clientCertificate();
  }

  kubeconfig(user: UserKind): string {
    return kubeconfigFor(this.c, user);
  }

  setLatency(ms: number): void {
    this.c.latencyMs = Math.max(0, ms);
  }
  /** refuse connections (nothing listens on the port) and reset open ones. */
  down(): Promise<void> {
    return this.net.down(this.c);
  }
  /** accept connections but never answer them. */
  hang(): void {
    this.net.hang(this.c);
  }
  up(): Promise<void> {
    return this.net.up(this.c);
  }
  /** fail requests whose path matches, with a Status of `code`, at `rate` (0..1). Returns a function removing the rule. */
  setErrorRate(o: ErrorRateOptions): () => void {
    const rule: ErrorRule = { pathPrefix: o.pathPrefix, regex: typeof o.regex === 'string' ? new RegExp(o.regex) : o.regex, rate: o.rate, code: o.code, message: o.message };
    this.c.errorRules.push(rule);
    return () => {
      this.c.errorRules = this.c.errorRules.filter((r) => r !== rule);
    };
  }
  clearErrors(): void {
    this.c.errorRules = [];
  }
  revokeCredential(user: CredentialUser): void {
    this.c.revoked.add(user);
  }
  expireCredential(user: CredentialUser): void {
    this.c.expired.add(user);
  }
  /**
   * Moves this cluster's clock forward by `ms` for token lifetimes (TokenRequest expiry), so a
   * test can outlive a token without waiting: a real kube-apiserver grants no less than 600 s.
   */
  advanceClock(ms: number): void {
    this.c.clockOffsetMs += ms;
  }
  /** This cluster's time (Unix milliseconds), as its token checks see it. */
  now(): number {
    return this.c.now();
  }
  restoreCredential(user: CredentialUser): void {
    this.c.revoked.delete(user);
    this.c.expired.delete(user);
  }
  setVersion(gitVersion: string): void {
    this.c.gitVersion = gitVersion;
  }
  addNode(n: NodeSpec): void {
    this.c.addNode(n);
  }
  removeNode(name: string): void {
    this.c.removeNode(name);
  }
  setHealth(endpoint: HealthEndpoint, ok: boolean, opts: { notFound?: boolean } = {}): void {
    this.c.health[endpoint] = { ok, notFound: opts.notFound ?? false };
  }
  /**
   * Records every TCP peer that connects from now on (address, port, time), and with
   * `processes` (Linux) the pid of the process holding the peer's socket, looked up in /proc
   * as it connects. Calling it again starts afresh.
   */
  recordPeers(options: { processes?: boolean } = {}): void {
    this.net.recordPeers(this.c, options.processes ?? false);
  }
  /**
   * Records every request from now on (method, path, the SHA-256 of its bearer token, who it
   * authenticated as, its Impersonate-* headers, its header names). Calling it again starts afresh.
   */
  recordRequests(): void {
    this.c.requestLog = [];
  }
  /** The requests recorded since recordRequests, oldest first. */
  requests(): RequestRecord[] {
    return [...(this.c.requestLog ?? [])];
  }
  /** The peers recorded since recordPeers, oldest first. */
  peers(): PeerRecord[] {
    return this.net.peers(this.c);
  }
  /**
   * Appends `text` to a container's log, one line per `\n`-separated part: `kubectl logs` shows it
   * and `logs -f` followers (and attached clients) receive it at once. `container` defaults to
   * the pod's first container (then the pod must exist).
   */
  appendLog(namespace: string, pod: string, text: string, options: { container?: string } = {}): void {
    let container = options.container;
    if (!container) {
      const o = this.c.api().find(this.c.resolve('', 'v1', 'pods')!, namespace, pod);
      if (!o) throw new Error(`appendLog: pod ${namespace}/${pod} does not exist; create it first or name the container`);
      container = containerNames(o)[0];
      if (!container) throw new Error(`appendLog: pod ${namespace}/${pod} has no containers`);
    }
    this.c.kubelet.appendLog(namespace, pod, container, text);
  }
  /**
   * Sends port-forwarded connections to the pod's `podPort` on to a TCP target on this machine
   * (loopback only, e.g. an echo server a test started), or back to the built-in echo with
   * `undefined`. May be called before the pod exists.
   */
  setPortTarget(namespace: string, pod: string, podPort: number, target: { port: number; host?: string } | undefined): void {
    if (!Number.isInteger(podPort) || podPort < 1 || podPort > 65535) throw new Error(`setPortTarget: pod port ${podPort} is not in 1-65535`);
    if (target) {
      const host = target.host ?? '127.0.0.1';
      if (!['127.0.0.1', '::1', 'localhost'].includes(host)) throw new Error(`setPortTarget: target host ${host} is not loopback; the emulator forwards only to this machine's loopback`);
      if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535) throw new Error(`setPortTarget: target port ${target.port} is not in 1-65535`);
      this.c.kubelet.setPortTarget(namespace, pod, podPort, { host, port: target.port });
    } else this.c.kubelet.setPortTarget(namespace, pod, podPort, undefined);
  }
  /** The upgraded exec/attach/portforward connections so far, oldest first: which transport and protocol each used. */
  streamConnections(): StreamRecord[] {
    return [...this.c.streams];
  }
  /**
   * Changes the workload status controllers (absent fields keep their value) and runs every
   * existing workload again: e.g. `{ fail: ['web'] }` makes Deployment `web` exceed its progress
   * deadline, `{ fail: false }` makes it ready again, `{ readyDelayMs: 2000 }` slows readiness.
   */
  setWorkloads(options: WorkloadOptions): void {
    this.c.workloads.configure(options);
  }
  /** forget the watch history: resuming from any earlier resourceVersion answers 410 Expired. */
  compact(): void {
    this.c.api().store.compact();
  }
  /** the current resourceVersion of the cluster's store (as a string, like the API). */
  resourceVersion(): string {
    return String(this.c.api().store.revision);
  }
}

const FLAVOURS: Flavour[] = ['kubeadm', 'eks', 'ack'];

export class KubeEmulator {
  private readonly net = new Network();
  private readonly handles = new Map<string, { handle: ClusterHandle; cluster: VirtualCluster }>();
  private counter = 0;

  private constructor(private readonly options: EmulatorOptions) {}

  static async start(options: EmulatorOptions = {}): Promise<KubeEmulator> {
    const emu = new KubeEmulator(options);
    const specs: ClusterSpec[] = typeof options.clusters === 'number' ? Array.from({ length: options.clusters }, (_, i) => ({ flavour: FLAVOURS[i % 3] })) : (options.clusters ?? []);
    const concurrency = options.startConcurrency ?? 64;
    for (let i = 0; i < specs.length; i += concurrency) {
      await Promise.all(specs.slice(i, i + concurrency).map((s) => emu.addCluster(s)));
    }
    return emu;
  }

  async addCluster(spec: ClusterSpec = {}): Promise<ClusterHandle> {
    const name = spec.name ?? `cluster-${String(this.counter).padStart(5, '0')}`;
    this.counter += 1;
    if (this.handles.has(name)) throw new Error(`cluster ${name} already exists`);
    const cluster = new VirtualCluster(
      { ...spec, name },
      {
        watchHistory: this.options.watchHistory ?? 1000,
        namespaceDeletionDelayMs: this.options.namespaceDeletionDelayMs ?? 50,
        bookmarkIntervalMs: this.options.bookmarkIntervalMs ?? 60_000,
        workloads: this.options.workloads,
      },
    );
    const handle = new ClusterHandle(cluster, this.net);
    this.handles.set(name, { handle, cluster });
    await this.net.add(cluster);
    return handle;
  }

  async removeCluster(name: string): Promise<void> {
    const e = this.handles.get(name);
    if (!e) return;
    this.handles.delete(name);
    await this.net.remove(e.cluster);
  }

  cluster(name: string): ClusterHandle {
    const e = this.handles.get(name);
    if (!e) throw new Error(`no cluster ${name}`);
    return e.handle;
  }

  clusters(): ClusterHandle[] {
    return [...this.handles.values()].map((e) => e.handle);
  }

  async stop(): Promise<void> {
    await this.net.close();
    this.handles.clear();
  }
}
