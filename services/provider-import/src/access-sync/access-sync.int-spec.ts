import { Subject } from 'rxjs';
import { type Cluster, ErrorReason, FlotillaError, IamResource } from '@flotilla/domain';
import type { ClusterList, ClusterWatchEvent, ObjectChange, ObjectStore, StoredObject } from '@flotilla/clients';
import { MemberAddressPolicy, MemberClient, createServiceAccountKubeconfig, parseKubeconfig, syncMemberAccess } from '@flotilla/kube';
import { ClusterHandle, KubeEmulator, kubectl, writeKubeconfig } from '@flotilla/kube-emulator';
import { eventually } from '@flotilla/testing';
import { AccessSync, type SyncResult, syncable } from './access-sync';

/**
 * The access sync loop end to end against emulated members: IAM objects followed through the
 * object store's change log, clusters through a list and watch, members brought to the desired
 * impersonation with Flotilla's own member credential.
 */
const policy = new MemberAddressPolicy({ allowLoopback: true });

/** An object store in memory with the registry's contract: one revision, a change log, Gone before the log. */
class MemoryStore implements Pick<ObjectStore, 'list' | 'changes'> {
  private revision = 0n;
  private floor = 0n;
  private readonly objects = new Map<string, StoredObject>();
  private readonly log: ObjectChange[] = [];

  put(resource: string, object: Record<string, any>, type: 'ADDED' | 'MODIFIED' | 'DELETED' = 'ADDED'): void {
    this.revision++;
    const stored: StoredObject = { resource, namespace: '', name: object.metadata.name, resourceVersion: String(this.revision), object };
    if (type === 'DELETED') this.objects.delete(`${resource}/${stored.name}`);
    else this.objects.set(`${resource}/${stored.name}`, stored);
    this.log.push({ type, revision: String(this.revision), object: stored });
  }

  /** Forget the log: a follower behind it gets Gone and must list again. */
  compact(): void {
    // Changes up to the current revision are forgotten: `since` below it is Gone.
    this.floor = this.revision;
    this.log.length = 0;
  }

  async list(resource: string) {
    return { items: [...this.objects.values()].filter((o) => o.resource === resource), revision: String(this.revision) };
  }

  async changes(since: string, options: { resources?: string[]; limit?: number } = {}) {
    if (BigInt(since) < this.floor) throw new FlotillaError(ErrorReason.Gone, 'too old resource version');
    const changes = this.log.filter((c) => BigInt(c.revision) > BigInt(since) && (!options.resources || options.resources.includes(c.object.resource))).slice(0, options.limit ?? 1000);
    return { changes, revision: String(this.revision) };
  }
}

class FakeRegistry {
  clusters = new Map<string, Cluster>();
  watches: Subject<ClusterWatchEvent>[] = [];
  private rv = 1;
  async listClusters(): Promise<ClusterList> {
    return { apiVersion: 'cluster.kubesphere.io/v1alpha1', kind: 'ClusterList', metadata: { resourceVersion: String(this.rv) }, items: [...this.clusters.values()] } as ClusterList;
  }
  watchClusters() {
    const s = new Subject<ClusterWatchEvent>();
    this.watches.push(s);
    return s.asObservable();
  }
  upsert(c: Cluster): void {
    const type = this.clusters.has(c.metadata.name) ? 'MODIFIED' : 'ADDED';
    c.metadata.resourceVersion = String(++this.rv);
    this.clusters.set(c.metadata.name, c);
    this.watches.at(-1)?.next({ type, object: c });
  }
}

const cluster = (name: string, labels: Record<string, string>, annotations: Record<string, string> = {}): Cluster =>
  ({
    apiVersion: 'cluster.kubesphere.io/v1alpha1',
    kind: 'Cluster',
    metadata: { name, uid: `uid-${name}`, generation: 1, labels, annotations: { 'import.flotilla.io/credentials': 'service-account', ...annotations } },
    spec: { connection: { type: 'direct' } },
    status: { conditions: [{ type: 'Initialized', status: 'True' }, { type: 'Ready', status: 'True' }] },
  }) as unknown as Cluster;
const cab = (name: string, subjects: unknown[], selector: Record<string, string>) => ({ metadata: { name }, role: 'cluster-viewer', subjects, clusterSelector: { matchLabels: selector } });

describe('access sync loop (ADR 0030, emulator)', () => {
  let emu: KubeEmulator;
  let member: ClusterHandle;
  const kubeconfigs = new Map<string, string>();
  const store = new MemoryStore();
  const registry = new FakeRegistry();
  const results: SyncResult[] = [];
  const refusals: string[] = [];
  const warnings: string[] = [];
  let sync: AccessSync;
  const PODS = '/api/v1/namespaces/default/pods';
  const canRead = async (m: string, user: string) => (await kubectl(['--as', `flotilla:user:${user}`, '--as-group', 'flotilla:role:cluster-viewer', 'get', '--raw', PODS], { kubeconfig: writeKubeconfig(kubeconfigs.get(m)!) })).code === 0;

  beforeAll(async () => {
    emu = await KubeEmulator.start({ clusters: 0 });
    member = await emu.addCluster({ flavour: 'kubeadm' });
    const admin = new MemberClient(parseKubeconfig(member.kubeconfig('admin')), 5000, { policy });
    kubeconfigs.set('m1', (await createServiceAccountKubeconfig(admin, parseKubeconfig(member.kubeconfig('admin')), 'm1', { tokenTtlSeconds: 3600 })).kubeconfig);
    registry.clusters.set('m1', cluster('m1', { env: 'prod' }));
    store.put(IamResource.clusterAccessBindings, cab('prod-viewers', [{ kind: 'User', name: 'alice' }], { env: 'prod' }));
    sync = new AccessSync(
      {
        store,
        registry,
        apply: async (c, desired) => {
          const client = new MemberClient(parseKubeconfig(kubeconfigs.get(c.metadata.name)!), 5000, { policy });
          try {
            return await syncMemberAccess(client, desired);
          } finally {
            client.close();
          }
        },
        refused: async (c) => void refusals.push(c.metadata.name),
        observe: (r) => void results.push(r),
        warn: (_fields, message) => void warnings.push(message),
      },
      { resyncMs: 0, concurrency: 2, pollMs: 50, backoffBaseMs: 50, backoffMaxMs: 60_000 },
    );
    await sync.start();
  });
  afterAll(async () => {
    sync?.stop();
    await emu?.stop();
  });

  it('applies at start: alice, bound by label selector, may be impersonated; mallory may not', async () => {
    await eventually(async () => expect(await canRead('m1', 'alice')).toBe(true));
    expect(await canRead('m1', 'mallory')).toBe(false);
    await eventually(() => expect(sync.pending).toBe(0));
  });

  it('follows IAM changes: a group binding reaches its users, and a removed binding takes its user away', async () => {
    store.put(IamResource.users, { metadata: { name: 'bob' }, spec: { groups: ['sre'] } });
    store.put(IamResource.clusterAccessBindings, cab('sre', [{ kind: 'Group', name: 'sre' }], { env: 'prod' }));
    await eventually(async () => expect(await canRead('m1', 'bob')).toBe(true));
    store.put(IamResource.clusterAccessBindings, cab('prod-viewers', [], { env: 'prod' }), 'DELETED');
    await eventually(async () => expect(await canRead('m1', 'alice')).toBe(false));
  });

  it('relists after Gone and after a 410 on the cluster watch, and a resync writes nothing when the member matches', async () => {
    // Carol's change is compacted away at once: only a new list (after Gone) can show it.
    store.put(IamResource.clusterAccessBindings, cab('carol', [{ kind: 'User', name: 'carol' }], { env: 'prod' }));
    store.compact();
    await eventually(async () => expect(await canRead('m1', 'carol')).toBe(true));
    expect(warnings).toContain('access sync: following IAM objects failed; retrying');
    registry.watches.at(-1)!.error(new FlotillaError(ErrorReason.Gone, 'too old resource version'));
    registry.clusters.set('m1', { ...registry.clusters.get('m1')!, metadata: { ...registry.clusters.get('m1')!.metadata, labels: { env: 'dev' } } });
    // Relisted: m1 no longer matches env=prod, only the bootstrap admin stays.
    await eventually(async () => expect(await canRead('m1', 'carol')).toBe(false));
    results.length = 0;
    sync.resync();
    await eventually(() => expect(results).toEqual(['unchanged']));
  });

  it('skips a cluster with impersonation off, and one not Ready', async () => {
    const notReady = cluster('m9', {});
    notReady.status!.conditions![1]!.status = 'False';
    expect([syncable(cluster('m9', {})), syncable(notReady)]).toEqual([true, false]);
    const m1 = registry.clusters.get('m1')!;
    registry.upsert({ ...m1, metadata: { ...m1.metadata, labels: { env: 'prod' }, annotations: { ...m1.metadata.annotations, 'proxy.flotilla.io/impersonation': 'off' } } });
    results.length = 0;
    sync.resync();
    expect(sync.pending).toBe(0);
    expect(results).toEqual([]);
    expect(await canRead('m1', 'carol')).toBe(false);
  });

  it('a member whose role predates the sync is reported once, with the fix', async () => {
    const old = await emu.addCluster({ flavour: 'kubeadm' });
    const admin = new MemberClient(parseKubeconfig(old.kubeconfig('admin')), 5000, { policy });
    kubeconfigs.set('m2', (await createServiceAccountKubeconfig(admin, parseKubeconfig(old.kubeconfig('admin')), 'm2', { tokenTtlSeconds: 3600 })).kubeconfig);
    const role = (await admin.request('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/flotilla:host')).body as Record<string, any>;
    role.rules = role.rules.filter((r: any) => !r.apiGroups?.includes('rbac.authorization.k8s.io') || r.verbs.every((v: string) => v === 'delete'));
    await admin.request('PUT', '/apis/rbac.authorization.k8s.io/v1/clusterroles/flotilla:host', role);
    registry.upsert(cluster('m2', { env: 'prod' }));
    await eventually(() => expect(refusals).toEqual(['m2']));
    expect(results).toContain('refused');
    sync.resync();
    expect(refusals).toEqual(['m2']); // backing off, and reported once per refusal streak
  });
});
