/** A virtual cluster: identity, credentials, fault injection and its (lazily created) API state. */
import { type JsonObject, obj, str } from '@flotilla/apply';
import { randomUUID } from 'node:crypto';
import { ApiServer, type ApiHooks } from '../api/apiserver';
import { crdResourceDefs, crdServed } from '../api/crd';
import { bootstrapRbacObjects, NOACCESS_USER, READONLY_USER, type UserInfo } from '../api/rbac';
import { BUILTIN_GROUP_ORDER, BUILTIN_RESOURCES, groupVersion, type ResourceDef } from '../api/resources';
import { newClientCert, newClusterPki, type ClusterPki } from '../pki/certs';
import { ClusterControllers } from './controllers';
import { defaultNodes, flavourConfigMap, flavourVersion, hex, nodeObject, randomRegion, type Flavour, type NodeSpec } from './flavours';
import { Kubelet } from './kubelet';
import { ServiceAccountTokens } from './service-account-tokens';
import { WorkloadControllers, type WorkloadOptions } from './workloads';

/** `admin-token`: the admin with its bearer token whatever the flavour (kubeadm's admin otherwise has a client certificate). */
export type UserKind = 'admin' | 'admin-token' | 'readonly' | 'noaccess' | 'eks-exec';
export type HealthEndpoint = 'readyz' | 'livez' | 'healthz';

export interface ClusterSpec {
  name?: string;
  flavour?: Flavour;
  /** gitVersion, e.g. v1.30.4, v1.30.4-eks-a737599, v1.30.1-aliyun.1 (a flavour suffix is added when absent). */
  version?: string;
  nodes?: NodeSpec[];
  region?: string;
  /** Workload status controllers of this cluster (default: the emulator's `workloads` option). */
  workloads?: WorkloadOptions;
}

export interface ErrorRule {
  pathPrefix?: string;
  regex?: RegExp;
  /** 0..1 */
  rate: number;
  code: number;
  message?: string;
}

export interface HealthState {
  ok: boolean;
  notFound: boolean;
}

/** One upgraded streaming connection (exec, attach, portforward), for tests to see which transport ran. */
export interface StreamRecord {
  subresource: string;
  transport: 'websocket' | 'spdy';
  protocol: string;
  at: Date;
}

/**
 * One request as it reached the cluster, for tests proving what a client (or a proxy) sent:
 * which credential (its SHA-256, never the credential), who it authenticated as, and the
 * impersonation asked for.
 */
export interface RequestRecord {
  method: string;
  path: string;
  /** Hex SHA-256 of the bearer token presented; undefined without one. */
  bearerSha256?: string;
  /** The user the credential authenticated as, before impersonation; undefined when refused (401). */
  authenticatedAs?: string;
  impersonateUser: string[];
  impersonateGroup: string[];
  /** Names of every header sent, lower case. */
  headerNames: string[];
  at: Date;
}

export interface ClusterOptions {
  watchHistory: number;
  namespaceDeletionDelayMs: number;
  bookmarkIntervalMs: number;
  workloads?: WorkloadOptions;
}

export class VirtualCluster implements ApiHooks {
  readonly name: string;
  readonly flavour: Flavour;
  readonly region: string;
  readonly kubeSystemUid = randomUUID();
  readonly pki: ClusterPki;
  gitVersion: string;
  nodes: NodeSpec[];
  port = 0;
  readonly tokens: Record<'admin' | 'readonly' | 'noaccess', string>;
  /** client certificate of the admin user (kubeadm: CN=kubernetes-admin, O=system:masters), made on first use. */
  private adminCert?: { certPem: string; keyPem: string };
  private readonly saTokens: ServiceAccountTokens;
  private readonly controllers: ClusterControllers;
  /** Status controllers of Deployments, StatefulSets, DaemonSets and Jobs. */
  readonly workloads: WorkloadControllers;
  /** Pod status, container logs, attach and port targets (the streaming subresources use it). */
  readonly kubelet: Kubelet;

  // faults
  latencyMs = 0;
  mode: 'up' | 'down' | 'hang' = 'up';
  errorRules: ErrorRule[] = [];
  readonly health: Record<HealthEndpoint, HealthState> = {
    readyz: { ok: true, notFound: false },
    livez: { ok: true, notFound: false },
    healthz: { ok: true, notFound: false },
  };
  readonly revoked = new Set<string>();
  readonly expired = new Set<string>();
  /** Added to the real time wherever this cluster judges token lifetimes (tests move it forward). */
  clockOffsetMs = 0;

  /** Upgraded streaming connections, newest last (at most 1,000). */
  readonly streams: StreamRecord[] = [];
  /** Requests, newest last (at most 10,000), while a test records them (recordRequests). */
  requestLog?: RequestRecord[];

  private apiState?: ApiServer;
  private crdDefs = new Map<string, ResourceDef[]>();
  readonly startedAt = new Date();

  constructor(
    spec: ClusterSpec & { name: string },
    readonly options: ClusterOptions,
  ) {
    this.name = spec.name;
    this.flavour = spec.flavour ?? 'kubeadm';
    this.region = spec.region ?? spec.nodes?.[0]?.region ?? randomRegion(this.flavour);
    this.gitVersion = flavourVersion(this.flavour, spec.version);
    this.nodes = spec.nodes ?? defaultNodes(this.flavour, this.region, this.name);
    this.pki = newClusterPki(this.name);
    this.tokens = { admin: `adm.${hex(32)}`, readonly: `ro.${hex(32)}`, noaccess: `na.${hex(32)}` };
    this.saTokens = new ServiceAccountTokens(this.kubeSystemUid.slice(0, 8));
    this.controllers = new ClusterControllers({
      existingApi: () => this.apiState,
      def: (group, resource) => this.def(group, resource),
      allResources: () => this.allResources(),
      caPem: this.pki.caPem,
      namespaceDeletionDelayMs: options.namespaceDeletionDelayMs,
      serviceAccountTokens: this.saTokens,
    });
    this.workloads = new WorkloadControllers({ existingApi: () => this.apiState, def: (group, resource) => this.def(group, resource) }, { ...options.workloads, ...spec.workloads });
    this.kubelet = new Kubelet({
      existingApi: () => this.apiState,
      podDef: () => this.def('', 'pods'),
      nodeName: () => this.nodes[0]?.name,
    });
  }

  get server(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  clientCertificate(): { certPem: string; keyPem: string } {
    this.adminCert ??= newClientCert(this.pki, this.name, 'kubernetes-admin', ['system:masters']);
    return this.adminCert;
  }

  // ---- API state ------------------------------------------------------------------------------
  get materialized(): boolean {
    return this.apiState !== undefined;
  }

  api(): ApiServer {
    if (!this.apiState) {
      this.apiState = new ApiServer(this.options.watchHistory, this, (apiVersion, kind) => this.resolveKind(apiVersion, kind));
      this.seed();
    }
    return this.apiState;
  }

  /** Resources of this cluster: built-ins plus what its CRDs define. */
  allResources(): ResourceDef[] {
    const out = [...BUILTIN_RESOURCES];
    for (const defs of this.crdDefs.values()) out.push(...defs);
    return out;
  }

  resolve(group: string, version: string, resource: string): ResourceDef | undefined {
    const b = BUILTIN_RESOURCES.find((d) => d.group === group && d.version === version && d.resource === resource);
    if (b) return b;
    for (const defs of this.crdDefs.values()) {
      const d = defs.find((x) => x.group === group && x.version === version && x.resource === resource);
      if (d) return d;
    }
    return undefined;
  }

  resolveKind(apiVersion: string, kind: string): ResourceDef | undefined {
    return this.allResources().find((d) => groupVersion(d.group, d.version) === apiVersion && d.kind === kind);
  }

  groups(): Array<{ group: string; versions: string[] }> {
    const out = BUILTIN_GROUP_ORDER.map((g) => ({ group: g.group, versions: [...g.versions] }));
    for (const defs of this.crdDefs.values()) {
      for (const d of defs) {
        let g = out.find((x) => x.group === d.group);
        if (!g) {
          g = { group: d.group, versions: [] };
          out.push(g);
        }
        if (!g.versions.includes(d.version)) g.versions.push(d.version);
      }
    }
    return out;
  }

  private def(group: string, resource: string): ResourceDef {
    const d = BUILTIN_RESOURCES.find((x) => x.group === group && x.resource === resource);
    if (!d) throw new Error(`unknown resource ${group}/${resource}`);
    return d;
  }

  private seed(): void {
    const api = this.api();
    const nsDef = this.def('', 'namespaces');
    for (const ns of ['default', 'kube-node-lease', 'kube-public', 'kube-system']) {
      const o: JsonObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } };
      const created = api.systemWrite(nsDef, undefined, o, 'kube-apiserver');
      if (ns === 'kube-system') {
        // the kube-system UID is the cluster's identity: keep the one handed out at start
        (created.metadata as JsonObject).uid = this.kubeSystemUid;
      }
    }
    for (const { resource, object } of bootstrapRbacObjects()) api.systemWrite(this.def('rbac.authorization.k8s.io', resource), undefined, object, 'kube-apiserver');
    const { object, manager } = flavourConfigMap(this);
    api.systemWrite(this.def('', 'configmaps'), 'kube-system', object, manager);
    for (const n of this.nodes) this.writeNode(n);
  }

  private writeNode(n: NodeSpec): void {
    this.api().systemWrite(this.def('', 'nodes'), undefined, nodeObject(this, n), 'kubelet');
  }

  addNode(n: NodeSpec): void {
    this.nodes = [...this.nodes.filter((x) => x.name !== n.name), n];
    if (this.apiState) this.writeNode(n);
  }

  removeNode(name: string): void {
    this.nodes = this.nodes.filter((x) => x.name !== name);
    if (this.apiState && this.apiState.find(this.def('', 'nodes'), undefined, name)) this.apiState.finalize(this.def('', 'nodes'), undefined, name);
  }

  // ---- ApiHooks: CRDs extend the served resources; the emulated controllers react -------------
  afterWrite(def: ResourceDef, type: 'ADDED' | 'MODIFIED' | 'DELETED', o: JsonObject): void {
    if (def.group === 'apiextensions.k8s.io' && def.resource === 'customresourcedefinitions') {
      const name = str(obj(o.metadata)?.name) ?? '';
      // served once its names are accepted (the CRD handler and discovery skip it before)
      if (type !== 'DELETED' && crdServed(o)) this.crdDefs.set(name, crdResourceDefs(o));
      else this.crdDefs.delete(name);
    }
    this.controllers.afterWrite(def, type, o);
    this.workloads.afterWrite(def, type, o);
    this.kubelet.afterWrite(def, type, o);
  }

  // ---- credentials ------------------------------------------------------------------------------
  /** This cluster's time, in Unix milliseconds: the real time plus clockOffsetMs. */
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  issueToken(ns: string, sa: string, saUid: string, expirationSeconds: number, audiences: string[]): { token: string; exp: number } {
    return this.saTokens.issue(ns, sa, saUid, expirationSeconds, audiences, this.now());
  }

  /** Authenticates a bearer token: undefined when the token is not valid (401). */
  authenticateToken(token: string): UserInfo | undefined {
    const statics: Array<[keyof VirtualCluster['tokens'], UserInfo]> = [
      ['admin', { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] }],
      ['readonly', { username: READONLY_USER, groups: ['system:authenticated'] }],
      ['noaccess', { username: NOACCESS_USER, groups: ['system:authenticated'] }],
    ];
    for (const [kind, user] of statics) {
      if (this.tokens[kind] === token) return this.revoked.has(kind) || this.expired.has(kind) ? undefined : user;
    }
    const claims = this.saTokens.claims(token);
    if (!claims) return undefined;
    const api = this.api();
    const saDef = this.def('', 'serviceaccounts');
    if (claims.iss === 'kubernetes/serviceaccount') {
      const ns = str(claims['kubernetes.io/serviceaccount/namespace']) ?? '';
      const secret = api.find(this.def('', 'secrets'), ns, str(claims['kubernetes.io/serviceaccount/secret.name']) ?? '');
      if (!secret || obj(secret.metadata)?.uid !== claims['kubernetes.io/serviceaccount/secret.uid']) return undefined;
      const sa = api.find(saDef, ns, str(claims['kubernetes.io/serviceaccount/service-account.name']) ?? '');
      if (!sa || obj(sa.metadata)?.uid !== claims['kubernetes.io/serviceaccount/service-account.uid']) return undefined;
      return saUser(ns, str(obj(sa.metadata)?.name) ?? '', str(obj(sa.metadata)?.uid));
    }
    if (typeof claims.exp === 'number' && claims.exp * 1000 < this.now()) return undefined;
    const k8s = obj(claims['kubernetes.io']);
    const ns = str(k8s?.namespace) ?? '';
    const saRef = obj(k8s?.serviceaccount);
    const sa = api.find(saDef, ns, str(saRef?.name) ?? '');
    if (!sa || obj(sa.metadata)?.uid !== saRef?.uid) return undefined;
    if (this.revoked.has(`sa:${ns}/${str(saRef?.name)}`)) return undefined;
    return saUser(ns, str(saRef?.name) ?? '', str(saRef?.uid));
  }

  userForCertificate(cn: string, orgs: string[]): UserInfo | undefined {
    if (cn === 'kubernetes-admin' && (this.revoked.has('admin') || this.expired.has('admin'))) return undefined;
    return { username: cn, groups: [...orgs, 'system:authenticated'] };
  }

  recordStream(r: Omit<StreamRecord, 'at'>): void {
    this.streams.push({ ...r, at: new Date() });
    if (this.streams.length > 1000) this.streams.shift();
  }

  /** Adds a request to the log when recording; the caller fills in who it authenticated as. */
  recordRequest(r: Omit<RequestRecord, 'at'>): RequestRecord | undefined {
    if (!this.requestLog) return undefined;
    const record = { ...r, at: new Date() };
    this.requestLog.push(record);
    if (this.requestLog.length > 10_000) this.requestLog.shift();
    return record;
  }

  stopTimers(): void {
    this.controllers.stop();
    this.workloads.stop();
    this.kubelet.stop();
  }
}

function saUser(ns: string, name: string, uid: string | undefined): UserInfo {
  return { username: `system:serviceaccount:${ns}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'], uid };
}
