/** A virtual cluster: identity, credentials, fault injection and its (lazily created) API state. */
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { ApiServer, type ApiHooks } from './api/apiserver';
import { crdResourceDefs } from './api/crd';
import { obj, str, type JsonObject } from './api/json';
import { bootstrapRbacObjects, NOACCESS_USER, READONLY_USER, type UserInfo } from './api/rbac';
import { BUILTIN_GROUP_ORDER, BUILTIN_RESOURCES, groupVersion, type ResourceDef } from './api/resources';
import { newClientCert, newClusterPki, type ClusterPki } from './server/certs';

export type Flavour = 'kubeadm' | 'eks' | 'ack';
export type UserKind = 'admin' | 'readonly' | 'noaccess' | 'eks-exec';
export type HealthEndpoint = 'readyz' | 'livez' | 'healthz';

export interface NodeSpec {
  name: string;
  zone: string;
  region: string;
  instanceType?: string;
}

export interface ClusterSpec {
  name?: string;
  flavour?: Flavour;
  /** gitVersion, e.g. v1.30.4, v1.30.4-eks-a737599, v1.30.1-aliyun.1 (a flavour suffix is added when absent). */
  version?: string;
  nodes?: NodeSpec[];
  region?: string;
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

const REGIONS: Record<Flavour, string[]> = {
  kubeadm: ['dc-1', 'dc-2'],
  eks: ['us-east-1', 'eu-west-1', 'ap-southeast-2'],
  ack: ['cn-hangzhou', 'cn-beijing', 'cn-shanghai'],
};

function hex(n: number): string {
  return randomBytes(Math.ceil(n / 2)).toString('hex').slice(0, n);
}

export function flavourVersion(flavour: Flavour, version: string | undefined): string {
  const base = version ?? 'v1.30.4';
  if (flavour === 'eks' && !base.includes('-eks-')) return `${base}-eks-${hex(7)}`;
  if (flavour === 'ack' && !base.includes('-aliyun')) return `${base}-aliyun.1`;
  return base;
}

export function defaultNodes(flavour: Flavour, region: string, clusterName: string): NodeSpec[] {
  const zones = ['a', 'b', 'c'];
  return zones.slice(0, 2).map((z, i) => ({
    name: flavour === 'eks' ? `ip-10-0-${i + 1}-${10 + i}.${region}.compute.internal` : flavour === 'ack' ? `${region}.10.0.${i + 1}.${10 + i}` : `${clusterName}-${i === 0 ? 'control-plane' : `worker-${i}`}`,
    zone: flavour === 'ack' ? `${region}-${String.fromCharCode(104 + i)}` : `${region}${z}`,
    region,
    instanceType: flavour === 'eks' ? 'm5.large' : flavour === 'ack' ? 'ecs.g7.xlarge' : undefined,
  }));
}

export interface ServiceAccountClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  'kubernetes.io': { namespace: string; serviceaccount: { name: string; uid: string }; secret?: { name: string; uid: string } };
}

export const SA_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface ClusterOptions {
  watchHistory: number;
  namespaceDeletionDelayMs: number;
  bookmarkIntervalMs: number;
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
  private readonly saKey = randomBytes(32);

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

  private apiState?: ApiServer;
  private crdDefs = new Map<string, ResourceDef[]>();
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly startedAt = new Date();

  constructor(
    spec: ClusterSpec & { name: string },
    readonly options: ClusterOptions,
  ) {
    this.name = spec.name;
    this.flavour = spec.flavour ?? 'kubeadm';
    this.region = spec.region ?? spec.nodes?.[0]?.region ?? REGIONS[this.flavour][Math.floor(Math.random() * REGIONS[this.flavour].length)];
    this.gitVersion = flavourVersion(this.flavour, spec.version);
    this.nodes = spec.nodes ?? defaultNodes(this.flavour, this.region, this.name);
    this.pki = newClusterPki(this.name);
    this.tokens = { admin: `adm.${hex(32)}`, readonly: `ro.${hex(32)}`, noaccess: `na.${hex(32)}` };
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
    const cmDef = this.def('', 'configmaps');
    if (this.flavour === 'kubeadm') {
      const [major, minor, patch] = this.gitVersion.replace(/^v/, '').split(/[.-]/);
      api.systemWrite(
        cmDef,
        'kube-system',
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'kubeadm-config', namespace: 'kube-system' },
          data: {
            ClusterConfiguration: `apiServer: {}\napiVersion: kubeadm.k8s.io/v1beta3\nclusterName: ${this.name}\ncontrollerManager: {}\ndns: {}\netcd:\n  local:\n    dataDir: /var/lib/etcd\nkind: ClusterConfiguration\nkubernetesVersion: v${major}.${minor}.${patch}\nnetworking:\n  dnsDomain: cluster.local\n  podSubnet: 10.244.0.0/16\n  serviceSubnet: 10.96.0.0/12\n`,
          },
        },
        'kubeadm',
      );
    } else if (this.flavour === 'eks') {
      api.systemWrite(cmDef, 'kube-system', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'aws-auth', namespace: 'kube-system' }, data: { mapRoles: `- rolearn: arn:aws:iam::123456789012:role/${this.name}-nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n  - system:bootstrappers\n  - system:nodes\n` } }, 'eks');
    } else {
      api.systemWrite(cmDef, 'kube-system', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ack-cluster-profile', namespace: 'kube-system' }, data: { clusterid: `c${hex(32)}`, 'cluster-type': 'ManagedKubernetes', region: this.region } }, 'ack');
    }
    for (const n of this.nodes) this.writeNode(n);
  }

  nodeObject(n: NodeSpec): JsonObject {
    const labels: JsonObject = {
      'kubernetes.io/hostname': n.name,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': 'amd64',
      'topology.kubernetes.io/zone': n.zone,
      'topology.kubernetes.io/region': n.region,
      'failure-domain.beta.kubernetes.io/zone': n.zone,
      'failure-domain.beta.kubernetes.io/region': n.region,
    };
    let providerID: string | undefined;
    if (this.flavour === 'eks') {
      labels['eks.amazonaws.com/nodegroup'] = `${this.name}-ng`;
      labels['eks.amazonaws.com/capacityType'] = 'ON_DEMAND';
      labels['node.kubernetes.io/instance-type'] = n.instanceType ?? 'm5.large';
      providerID = `aws:///${n.zone}/i-0${hex(16)}`;
    } else if (this.flavour === 'ack') {
      labels['alibabacloud.com/nodepool-id'] = `np${hex(32)}`;
      labels['node.kubernetes.io/instance-type'] = n.instanceType ?? 'ecs.g7.xlarge';
      providerID = `${n.region}.i-${hex(20)}`;
    } else if (this.nodes[0] === n) {
      labels['node-role.kubernetes.io/control-plane'] = '';
      labels['node.kubernetes.io/exclude-from-external-load-balancers'] = '';
    }
    const kubelet = this.gitVersion;
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: n.name, labels, annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } },
      spec: providerID ? { providerID } : {},
      status: {
        capacity: { cpu: '2', memory: '8010152Ki', pods: '110', 'ephemeral-storage': '81106868Ki' },
        allocatable: { cpu: '1930m', memory: '7172520Ki', pods: '110', 'ephemeral-storage': '74748094778' },
        conditions: [
          { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
          { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure' },
          { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available' },
          { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
        ],
        addresses: [
          { type: 'InternalIP', address: `10.0.${this.nodes.indexOf(n) + 1}.10` },
          { type: 'Hostname', address: n.name },
        ],
        nodeInfo: {
          kubeletVersion: kubelet,
          kubeProxyVersion: kubelet,
          osImage: this.flavour === 'eks' ? 'Amazon Linux 2023' : this.flavour === 'ack' ? 'Alibaba Cloud Linux 3' : 'Ubuntu 22.04.4 LTS',
          kernelVersion: '6.1.0-18-amd64',
          containerRuntimeVersion: 'containerd://1.7.13',
          operatingSystem: 'linux',
          architecture: 'amd64',
        },
      },
    };
  }

  private writeNode(n: NodeSpec): void {
    this.api().systemWrite(this.def('', 'nodes'), undefined, this.nodeObject(n), 'kubelet');
  }

  addNode(n: NodeSpec): void {
    this.nodes = [...this.nodes.filter((x) => x.name !== n.name), n];
    if (this.apiState) this.writeNode(n);
  }

  removeNode(name: string): void {
    this.nodes = this.nodes.filter((x) => x.name !== name);
    if (this.apiState && this.apiState.find(this.def('', 'nodes'), undefined, name)) this.apiState.finalize(this.def('', 'nodes'), undefined, name);
  }

  // ---- controllers (ApiHooks) -------------------------------------------------------------------
  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  afterWrite(def: ResourceDef, type: 'ADDED' | 'MODIFIED' | 'DELETED', o: JsonObject): void {
    const m = obj(o.metadata) ?? {};
    const name = str(m.name) ?? '';
    const ns = str(m.namespace);
    if (def.group === '' && def.resource === 'namespaces') {
      if (type === 'ADDED' && this.apiState) this.later(() => this.namespaceCreated(name), 0);
      if (type === 'MODIFIED' && m.deletionTimestamp) this.later(() => this.finishNamespace(name), this.options.namespaceDeletionDelayMs);
    } else if (def.group === 'apiextensions.k8s.io' && def.resource === 'customresourcedefinitions') {
      if (type === 'DELETED') this.crdDefs.delete(name);
      else {
        this.crdDefs.set(name, crdResourceDefs(o));
        if (type === 'ADDED') this.later(() => this.establishCrd(name), 5);
      }
    } else if (def.group === '' && def.resource === 'secrets' && type === 'ADDED' && o.type === 'kubernetes.io/service-account-token') {
      this.later(() => this.fillTokenSecret(ns ?? '', name), 5);
    }
    if (type === 'MODIFIED' && m.deletionTimestamp && Array.isArray(m.finalizers)) {
      const gcOwned = m.finalizers.filter((f) => f === 'foregroundDeletion' || f === 'orphan');
      for (const f of gcOwned) this.later(() => this.apiState?.finalize(def, ns, name, String(f)), 20);
    }
  }

  private namespaceCreated(ns: string): void {
    const api = this.apiState;
    if (!api || !api.find(this.def('', 'namespaces'), undefined, ns)) return;
    const sa = this.def('', 'serviceaccounts');
    if (!api.find(sa, ns, 'default')) api.systemWrite(sa, ns, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } }, 'kube-controller-manager');
    const cm = this.def('', 'configmaps');
    if (!api.find(cm, ns, 'kube-root-ca.crt'))
      api.systemWrite(cm, ns, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace: ns, annotations: { 'kubernetes.io/description': 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.' } }, data: { 'ca.crt': this.pki.caPem } }, 'kube-root-ca-cert-publisher');
  }

  private finishNamespace(ns: string): void {
    const api = this.apiState;
    if (!api) return;
    for (const def of this.allResources()) {
      if (!def.namespaced) continue;
      for (const [, o] of api.store.list(`${def.group}/${def.resource}`, ns)) {
        api.finalize(def, ns, str(obj(o.metadata)?.name) ?? '');
      }
    }
    const nsDef = this.def('', 'namespaces');
    const cur = api.find(nsDef, undefined, ns);
    if (cur && obj(cur.metadata)?.deletionTimestamp) api.finalize(nsDef, undefined, ns);
  }

  private establishCrd(name: string): void {
    const api = this.apiState;
    const def = this.def('apiextensions.k8s.io', 'customresourcedefinitions');
    const crd = api?.find(def, undefined, name);
    if (!api || !crd) return;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const names = obj(obj(crd.spec)?.names) ?? {};
    const next: JsonObject = {
      ...crd,
      status: {
        ...(obj(crd.status) ?? {}),
        conditions: [
          { type: 'NamesAccepted', status: 'True', lastTransitionTime: now, reason: 'NoConflicts', message: 'no conflicts found' },
          { type: 'Established', status: 'True', lastTransitionTime: now, reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
        ],
        acceptedNames: names,
      },
    };
    api.systemWrite(def, undefined, next, 'kube-apiserver', 'status');
  }

  private fillTokenSecret(ns: string, name: string): void {
    const api = this.apiState;
    const secretDef = this.def('', 'secrets');
    const secret = api?.find(secretDef, ns, name);
    if (!api || !secret) return;
    const annotations = obj(obj(secret.metadata)?.annotations) ?? {};
    const saName = str(annotations['kubernetes.io/service-account.name']) ?? '';
    const sa = api.find(this.def('', 'serviceaccounts'), ns, saName);
    if (!sa) {
      this.later(() => this.fillTokenSecret(ns, name), 200);
      return;
    }
    const saUid = str(obj(sa.metadata)?.uid) ?? '';
    const token = this.signLegacyToken(ns, saName, saUid, name, str(obj(secret.metadata)?.uid) ?? '');
    const next: JsonObject = {
      ...secret,
      metadata: { ...(obj(secret.metadata) ?? {}), annotations: { ...annotations, 'kubernetes.io/service-account.uid': saUid } },
      data: {
        ...(obj(secret.data) ?? {}),
        'ca.crt': Buffer.from(this.pki.caPem).toString('base64'),
        namespace: Buffer.from(ns).toString('base64'),
        token: Buffer.from(token).toString('base64'),
      },
    };
    api.systemWrite(secretDef, ns, next, 'kube-controller-manager');
  }

  // ---- service-account tokens (JWT, HS256 with a per-cluster key) -------------------------------
  private sign(payload: JsonObject): string {
    const enc = (v: JsonObject): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const head = enc({ alg: 'HS256', kid: this.kubeSystemUid.slice(0, 8) });
    const body = enc(payload);
    const sig = createHmac('sha256', this.saKey).update(`${head}.${body}`).digest('base64url');
    return `${head}.${body}.${sig}`;
  }

  issueToken(ns: string, sa: string, saUid: string, expirationSeconds: number, audiences: string[]): { token: string; exp: number } {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + expirationSeconds;
    const payload: JsonObject = {
      aud: audiences,
      exp,
      iat: now,
      iss: SA_ISSUER,
      'kubernetes.io': { namespace: ns, serviceaccount: { name: sa, uid: saUid } },
      nbf: now,
      sub: `system:serviceaccount:${ns}:${sa}`,
    };
    return { token: this.sign(payload), exp };
  }

  private signLegacyToken(ns: string, sa: string, saUid: string, secretName: string, secretUid: string): string {
    return this.sign({
      iss: 'kubernetes/serviceaccount',
      'kubernetes.io/serviceaccount/namespace': ns,
      'kubernetes.io/serviceaccount/secret.name': secretName,
      'kubernetes.io/serviceaccount/secret.uid': secretUid,
      'kubernetes.io/serviceaccount/service-account.name': sa,
      'kubernetes.io/serviceaccount/service-account.uid': saUid,
      sub: `system:serviceaccount:${ns}:${sa}`,
    });
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
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const sig = createHmac('sha256', this.saKey).update(`${parts[0]}.${parts[1]}`).digest('base64url');
    if (sig !== parts[2]) return undefined;
    let claims: JsonObject;
    try {
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString()) as JsonObject;
    } catch {
      return undefined;
    }
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
    if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now()) return undefined;
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

  stopTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

function saUser(ns: string, name: string, uid: string | undefined): UserInfo {
  return { username: `system:serviceaccount:${ns}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'], uid };
}
