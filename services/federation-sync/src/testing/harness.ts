import { CLUSTER_API_VERSION, type Cluster, PatchType } from '@flotilla/domain';
import { ObjectsClient, RegistryClient, type StoredObject } from '@flotilla/clients';
import { MemberClient, MemberAddressPolicy, parseKubeconfig } from '@flotilla/kube';

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** What the harness needs of an emulated member (the specs pass @flotilla/kube-emulator's, which this file may not import). */
export interface EmulatedMember {
  kubeconfig(user: 'admin'): string;
  readonly kubeSystemUid: string;
}
export interface Emulator {
  addCluster(spec: { name: string; flavour: 'eks' }): Promise<EmulatedMember>;
  cluster(name: string): EmulatedMember;
}

export const FED_NS = 'federatednamespaces.types.kubefed.io';
export const FED_DEPLOY = 'federateddeployments.types.kubefed.io';
export const FED_CM = 'federatedconfigmaps.types.kubefed.io';
export const ALICE = JSON.stringify({ user: 'alice', groups: ['ops'] });

/**
 * The registry and emulated members as federation-sync's specs drive them: clusters written as the
 * import and health-probe would, federated objects written into the store as the gateway would
 * (last writer, finalizer; a DELETE sets deletionTimestamp).
 */
export class Harness {
  readonly store: ObjectsClient;
  readonly registry: RegistryClient;
  private readonly admins = new Map<string, MemberClient>();
  private readonly policy = new MemberAddressPolicy({ allowLoopback: true });

  constructor(
    target: string,
    token: string,
    private readonly emu: Emulator,
  ) {
    this.store = new ObjectsClient(target, token);
    this.registry = new RegistryClient(target, token);
  }

  close(): void {
    for (const a of this.admins.values()) a.close();
    this.store.close();
    this.registry.close();
  }

  /** An emulated member, registered and Ready, with labels. */
  async member(name: string, labels: Record<string, string>): Promise<EmulatedMember> {
    const h = await this.emu.addCluster({ name, flavour: 'eks' });
    const c: Cluster = { apiVersion: CLUSTER_API_VERSION, kind: 'Cluster', metadata: { name, labels }, spec: { provider: 'generic', connection: { type: 'direct', kubeconfig: h.kubeconfig('admin') } } };
    await this.registry.createCluster(c);
    await this.setReady(name, true);
    this.admins.set(name, new MemberClient(parseKubeconfig(h.kubeconfig('admin')), 5000, { policy: this.policy }));
    return h;
  }

  async setReady(name: string, ready: boolean): Promise<void> {
    const h = this.emu.cluster(name);
    await this.registry.updateClusterStatus(name, {
      uid: h.kubeSystemUid,
      conditions: [
        { type: 'Initialized', status: 'True', reason: 'Imported', message: 'imported' },
        ready ? { type: 'Ready', status: 'True', reason: 'ClusterReady', message: 'probed' } : { type: 'Ready', status: 'False', reason: 'ClusterNotReachable', message: 'did not answer' },
      ],
    });
  }

  async relabel(name: string, labels: Record<string, string | null>): Promise<void> {
    await this.registry.patchCluster(name, PatchType.Merge, JSON.stringify({ metadata: { labels } }));
  }

  /** GET in a member as its admin; undefined on 404. */
  async inMember(cluster: string, path: string): Promise<Json | undefined> {
    const r = await this.admins.get(cluster)!.request<Json>('GET', path);
    if (r.status === 404) return undefined;
    if (r.status >= 300) throw new Error(`GET ${path} in ${cluster}: HTTP ${r.status}`);
    return r.body;
  }

  async memberRequest(cluster: string, method: string, path: string, body?: unknown, contentType?: string): Promise<void> {
    const r = await this.admins.get(cluster)!.request(method, path, body, contentType ? { 'Content-Type': contentType } : {});
    if (r.status >= 300) throw new Error(`${method} ${path} in ${cluster}: HTTP ${r.status}`);
  }

  /** A federated object as the gateway stores it. */
  async create(resource: string, obj: Json, namespace = ''): Promise<StoredObject> {
    const meta = obj.metadata ?? {};
    const stored = { ...obj, metadata: { ...meta, annotations: { ...(meta.annotations ?? {}), 'federation.flotilla.io/last-writer': meta.annotations?.['federation.flotilla.io/last-writer'] ?? ALICE }, finalizers: ['federation.flotilla.io/cleanup'] } };
    return this.store.create(resource, stored, namespace);
  }

  get(resource: string, name: string, namespace = ''): Promise<StoredObject> {
    return this.store.get(resource, name, namespace);
  }

  /** Changes the spec (read-modify-write with the resourceVersion, retried on a status write in between). */
  async change(resource: string, name: string, namespace: string, edit: (o: Json) => void): Promise<void> {
    for (let i = 0; ; i++) {
      const cur = (await this.store.get(resource, name, namespace)).object as Json;
      edit(cur);
      try {
        await this.store.update(resource, cur, namespace);
        return;
      } catch (error) {
        if (i > 10) throw error;
      }
    }
  }

  /** DELETE through the gateway: the finalizer holds it, deletionTimestamp is set. */
  markDeleted(resource: string, name: string, namespace: string): Promise<void> {
    return this.change(resource, name, namespace, (o) => (o.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')));
  }

  async exists(resource: string, name: string, namespace = ''): Promise<boolean> {
    return this.store.get(resource, name, namespace).then(
      () => true,
      () => false,
    );
  }

  async fleetAdmin(user: string): Promise<void> {
    await this.store.create('globalrolebindings.iam.kubesphere.io', {
      apiVersion: 'iam.kubesphere.io/v1beta1',
      kind: 'GlobalRoleBinding',
      metadata: { name: `${user}-fleet-admin` },
      subjects: [{ kind: 'User', name: user }],
      roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name: 'fleet-admin' },
    });
  }
}

export function clusterStatus(o: StoredObject, cluster: string): Json | undefined {
  return ((o.object as Json).status?.clusters ?? []).find((c: Json) => c.name === cluster);
}
