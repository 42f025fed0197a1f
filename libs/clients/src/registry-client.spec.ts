import { Server, ServerCredentials, ServerUnaryCall, ServerWritableStream, ServiceDefinition, loadPackageDefinition, sendUnaryData } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { lastValueFrom, toArray } from 'rxjs';
import { CLUSTER_API_VERSION, CLUSTER_KIND, Cluster, ClusterErrors, ErrorReason, FlotillaError, MEMBER_UID_LABEL, PatchType } from '@flotilla/domain';
import { PROTO_LOADER_OPTIONS, clusterFromProto, clusterToProto, protoPath, protoRoot, registryV1, statusFromProto, toGrpcError } from '@flotilla/contracts';
import { RegistryClient } from './registry-client';

/**
 * A stand-in registry speaking the real RegistryService wire protocol over a real gRPC socket:
 * it keeps clusters in memory the way the registry shows them (credentials stored apart, never
 * returned), records what reached it, and fails the way the registry does (domain errors in the
 * trailer). The client under test is the one every service uses.
 */
class StandInRegistry {
  readonly server = new Server();
  readonly clusters = new Map<string, Cluster>();
  readonly credentials = new Map<string, { kubeconfig: string; token: string }>();
  readonly seen: { method: string; authorization: string | undefined; request: unknown }[] = [];
  private version = 0;

  constructor(private readonly internalToken: string) {
    const def = loadSync(protoPath(registryV1.PROTO_FILE), { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot()] });
    const pkg = loadPackageDefinition(def) as unknown as { flotilla: { registry: { v1: { RegistryService: { service: ServiceDefinition } } } } };
    const unary = (method: string, handle: (request: never, authorized: boolean) => unknown) => (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const authorization = call.metadata.get('authorization')[0]?.toString();
      this.seen.push({ method, authorization, request: call.request });
      try {
        callback(null, handle(call.request as never, authorization === `Bearer ${this.internalToken}`));
      } catch (error) {
        callback(toGrpcError(error) as never, null);
      }
    };
    const handlers: Record<string, (request: never, authorized: boolean) => unknown> = {
      getCluster: (r: registryV1.GetClusterRequest) => clusterToProto(this.find(r.name ?? '')),
      listClusters: (r: registryV1.ListClustersRequest): registryV1.ClusterList => {
        const [key, value] = (r.labelSelector ?? '').split('=');
        const all = [...this.clusters.values()].filter((c) => !key || c.metadata.labels?.[key] === value).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
        // Pages as the registry serves them: unset or 0 is its default page (here 2, to show paging); the token is the offset.
        const limit = r.limit || 2;
        const from = r.continue ? Number(r.continue) : 0;
        const items = all.slice(from, from + limit);
        const more = from + limit < all.length;
        return { metadata: { resourceVersion: String(this.version), continue: more ? String(from + limit) : '', ...(more ? { remainingItemCount: String(all.length - from - limit) } : {}) }, items: items.map((c) => clusterToProto(c)) };
      },
      createCluster: (r: registryV1.CreateClusterRequest) => {
        const wire = clusterFromProto(r.cluster ?? {}, true);
        const { kubeconfig = '', token = '', ...connection } = wire.spec.connection;
        const stored: Cluster = { ...wire, metadata: { ...wire.metadata, uid: `uid-${wire.metadata.name}`, resourceVersion: String(++this.version), generation: 1 }, spec: { ...wire.spec, connection } };
        if (!r.dryRun) {
          this.clusters.set(stored.metadata.name, stored);
          this.credentials.set(stored.metadata.name, { kubeconfig, token });
        }
        return clusterToProto(stored);
      },
      updateCluster: (r: registryV1.UpdateClusterRequest) => {
        const next = clusterFromProto(r.cluster ?? {}, false);
        const current = this.find(next.metadata.name);
        if (next.metadata.resourceVersion && next.metadata.resourceVersion !== current.metadata.resourceVersion) throw ClusterErrors.conflict(next.metadata.name);
        const stored: Cluster = { ...next, metadata: { ...next.metadata, resourceVersion: String(++this.version) }, status: current.status };
        this.clusters.set(stored.metadata.name, stored);
        return clusterToProto(stored);
      },
      patchCluster: (r: registryV1.PatchClusterRequest) => {
        const current = this.find(r.name ?? '');
        if (r.patchType !== PatchType.Merge) throw ClusterErrors.badRequest(`unsupported patch type ${r.patchType}`);
        const patch = JSON.parse(r.patch ?? '{}') as { metadata?: { annotations?: Record<string, string> } };
        const stored: Cluster = { ...current, metadata: { ...current.metadata, annotations: { ...current.metadata.annotations, ...patch.metadata?.annotations } } };
        this.clusters.set(stored.metadata.name, stored);
        return clusterToProto(stored);
      },
      deleteCluster: (r: registryV1.DeleteClusterRequest): registryV1.DeleteClusterResponse => {
        const current = this.find(r.name ?? '');
        if (r.preconditions?.uid && r.preconditions.uid !== current.metadata.uid) throw ClusterErrors.conflict(current.metadata.name, 'the uid precondition does not match');
        if ((current.metadata.finalizers ?? []).length > 0) {
          const marked: Cluster = { ...current, metadata: { ...current.metadata, deletionTimestamp: '2026-11-01T00:00:00Z' } };
          this.clusters.set(marked.metadata.name, marked);
          return { deleted: false, cluster: clusterToProto(marked) };
        }
        this.clusters.delete(current.metadata.name);
        return { deleted: true, cluster: clusterToProto(current) };
      },
      updateClusterStatus: (r: registryV1.UpdateClusterStatusRequest) => {
        const current = this.find(r.name ?? '');
        const stored: Cluster = { ...current, metadata: { ...current.metadata, resourceVersion: String(++this.version) }, status: statusFromProto(r.status) };
        this.clusters.set(stored.metadata.name, stored);
        return clusterToProto(stored);
      },
      getClusterCredentials: (r: registryV1.GetClusterCredentialsRequest, authorized): registryV1.ClusterCredentials => {
        if (!authorized) throw new FlotillaError(ErrorReason.Unauthorized, 'the internal token is required');
        const c = this.find(r.name ?? '');
        return { name: c.metadata.name, uid: c.metadata.uid, ...this.credentials.get(c.metadata.name), keyId: 'k1' };
      },
      recordProbeTimes: (r: registryV1.RecordProbeTimesRequest, authorized): registryV1.RecordProbeTimesResponse => {
        if (!authorized) throw new FlotillaError(ErrorReason.Unauthorized, 'the internal token is required');
        return { recorded: (r.entries ?? []).filter((e) => this.clusters.has(e.name ?? '')).length };
      },
    };
    const unaryHandlers = Object.fromEntries(Object.entries(handlers).map(([method, handle]) => [method, unary(method, handle)]));
    this.server.addService(pkg.flotilla.registry.v1.RegistryService.service, {
      ...unaryHandlers,
      watchClusters: (call: ServerWritableStream<registryV1.WatchClustersRequest, registryV1.WatchEvent>) => {
        this.seen.push({ method: 'watchClusters', authorization: undefined, request: call.request });
        if (call.request.resourceVersion === 'too-old') {
          call.emit('error', toGrpcError(ClusterErrors.watchExpired('too-old')));
          return;
        }
        if (call.request.importJobChanges) {
          const name = (call.request.fieldSelector ?? '').replace('metadata.name=', '');
          call.write({ type: 'ADDED', object: clusterToProto(this.find(name)) });
          call.write({ type: 'IMPORT_JOB', object: { metadata: { name, resourceVersion: '' } }, importJob: '' });
          call.write({ type: 'IMPORT_JOB', object: { metadata: { name, resourceVersion: '42' } }, importJob: `import-uid-${name}` });
          call.end();
          return;
        }
        for (const c of this.clusters.values()) call.write({ type: 'ADDED', object: clusterToProto(c) });
        if (call.request.allowBookmarks) call.write({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(this.version) } } });
        const gone = [...this.clusters.values()][0];
        if (gone) call.write({ type: 'DELETED', object: clusterToProto(gone) });
        call.end();
      },
    });
  }

  private find(name: string): Cluster {
    const c = this.clusters.get(name);
    if (!c) throw ClusterErrors.notFound(name);
    return c;
  }

  async start(): Promise<string> {
    const port = await new Promise<number>((resolve, reject) => this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    return `127.0.0.1:${port}`;
  }
}

const cluster = (name: string, extra: Partial<Cluster['metadata']> = {}): Cluster => ({
  apiVersion: CLUSTER_API_VERSION,
  kind: CLUSTER_KIND,
  metadata: { name, labels: { env: 'prod' }, annotations: { note: 'n' }, ...extra },
  spec: { provider: 'kubeadm', connection: { type: 'direct', kubeconfig: `kubeconfig-of-${name}` } },
});

describe('RegistryClient (against a stand-in registry over real gRPC)', () => {
  const token = 'internal-token-0123456789abcdef0123456789';
  let registry: StandInRegistry;
  let client: RegistryClient;
  let anonymous: RegistryClient;

  beforeEach(async () => {
    registry = new StandInRegistry(token);
    const target = await registry.start();
    client = new RegistryClient(target, token, 5_000);
    anonymous = new RegistryClient(target, undefined, 5_000);
  });

  afterEach(async () => {
    client.close();
    anonymous.close();
    await new Promise<void>((resolve) => registry.server.tryShutdown(() => resolve()));
  });

  it('creates, reads and lists domain clusters; credentials go with the write and never come back', async () => {
    const created = await client.createCluster(cluster('a'));
    expect(created).toEqual({
      apiVersion: CLUSTER_API_VERSION,
      kind: CLUSTER_KIND,
      metadata: { name: 'a', uid: 'uid-a', labels: { env: 'prod' }, annotations: { note: 'n' }, resourceVersion: '1', generation: 1 },
      spec: { provider: 'kubeadm', connection: { type: 'direct' } },
    });
    expect(registry.credentials.get('a')).toEqual({ kubeconfig: 'kubeconfig-of-a', token: '' });
    expect(await client.getCluster('a')).toEqual(created);

    const list = await client.listClusters({ labelSelector: 'env=prod' });
    expect(list).toEqual({ apiVersion: CLUSTER_API_VERSION, kind: 'ClusterList', metadata: { resourceVersion: '1' }, items: [created] });
    await client.createCluster(cluster('b'));
    const page = await client.listClusters({ limit: 1 });
    expect(page.metadata).toEqual({ resourceVersion: '2', continue: '1', remainingItemCount: 1 });
    expect((await client.listClusters({ labelSelector: 'env=dev' })).items).toEqual([]);
  });

  it('lists everything page by page, one bounded call each, and finds a member uid past the first page', async () => {
    for (const n of ['p1', 'p2', 'p3', 'p4', 'p5']) await client.createCluster(cluster(n, n === 'p5' ? { labels: { [MEMBER_UID_LABEL]: 'far' } } : {}));
    const pages = [];
    for await (const page of client.listAllClusters()) pages.push(page.items.map((c) => c.metadata.name));
    expect(pages).toEqual([['p1', 'p2'], ['p3', 'p4'], ['p5']]);
    expect(registry.seen.filter((s) => s.method === 'listClusters').map((s) => (s.request as registryV1.ListClustersRequest).continue)).toEqual(['', '2', '4']);
    await client.createCluster(cluster('p0', { labels: { [MEMBER_UID_LABEL]: 'far' } }));
    await client.createCluster(cluster('p00', { labels: { [MEMBER_UID_LABEL]: 'far' } }));
    // p0 and p00 fill the first page (both excluded), p5 is on the second.
    expect(await client.clusterWithMemberUid('far', 'p0')).toBe('p00');
    expect(await client.clusterWithMemberUid('far', 'p00')).toBe('p0');
  });

  it('follows a cluster\'s import jobs over the clusters watch: a read-now signal, then each job change; the user travels', async () => {
    await client.createCluster(cluster('j'));
    const signals = await lastValueFrom(client.watchImportJobChanges('j', { onBehalfOf: 'alice' }).pipe(toArray()));
    expect(signals).toEqual([
      { jobName: '', resourceVersion: '' },
      { jobName: 'import-uid-j', resourceVersion: '42' },
    ]);
    expect(registry.seen.find((s) => s.method === 'watchClusters')?.request).toMatchObject({ fieldSelector: 'metadata.name=j', importJobChanges: true, onBehalfOf: 'alice' });
  });

  it('a dry-run create stores nothing', async () => {
    await client.createCluster(cluster('dry'), { dryRun: true });
    expect(await client.findCluster('dry')).toBeUndefined();
  });

  it('findCluster answers undefined for a missing cluster; getCluster says NotFound', async () => {
    expect(await client.findCluster('nope')).toBeUndefined();
    await expect(client.getCluster('nope')).rejects.toMatchObject({ reason: ErrorReason.NotFound, message: 'clusters.cluster.kubesphere.io "nope" not found' });
    await expect(client.getCluster('nope')).rejects.toBeInstanceOf(FlotillaError);
  });

  it('updates, patches and writes status, each returning the cluster as stored', async () => {
    const created = await client.createCluster(cluster('u'));
    const updated = await client.updateCluster({ ...created, metadata: { ...created.metadata, labels: { env: 'dev' } } });
    expect(updated.metadata).toMatchObject({ labels: { env: 'dev' }, resourceVersion: '2' });

    await expect(client.updateCluster(created)).rejects.toMatchObject({ reason: ErrorReason.Conflict });

    const patched = await client.patchCluster('u', PatchType.Merge, JSON.stringify({ metadata: { annotations: { forced: 'true' } } }));
    expect(patched.metadata.annotations).toEqual({ note: 'n', forced: 'true' });

    const withStatus = await client.updateClusterStatus('u', { uid: 'member-1', conditions: [{ type: 'Ready', status: 'True', reason: 'ClusterReady' }], nodeCount: 3 });
    expect(withStatus.status).toEqual({ uid: 'member-1', conditions: [{ type: 'Ready', status: 'True', reason: 'ClusterReady' }], nodeCount: 3 });
    expect((await client.getCluster('u')).status).toEqual(withStatus.status);
  });

  it('deletes: gone at once without finalizers, marked while they remain; preconditions travel', async () => {
    await client.createCluster(cluster('plain'));
    await client.createCluster(cluster('held', { finalizers: ['cluster.flotilla.io/unbind'] }));

    await expect(client.deleteCluster('plain', { preconditions: { uid: 'someone-else' } })).rejects.toMatchObject({ reason: ErrorReason.Conflict });
    expect(await client.deleteCluster('plain', { preconditions: { uid: 'uid-plain' } })).toMatchObject({ deleted: true, cluster: { metadata: { name: 'plain' } } });
    expect(await client.findCluster('plain')).toBeUndefined();

    const held = await client.deleteCluster('held');
    expect(held.deleted).toBe(false);
    expect(held.cluster.metadata).toMatchObject({ name: 'held', deletionTimestamp: '2026-11-01T00:00:00Z', finalizers: ['cluster.flotilla.io/unbind'] });
  });

  it('finds the cluster imported from a member by its kube-system UID, other than the one named', async () => {
    await client.createCluster(cluster('first', { labels: { [MEMBER_UID_LABEL]: 'member-uid-1' } }));
    expect(await client.clusterWithMemberUid('member-uid-1', 'second')).toBe('first');
    expect(await client.clusterWithMemberUid('member-uid-1', 'first')).toBeUndefined();
    expect(await client.clusterWithMemberUid('member-uid-2')).toBeUndefined();
  });

  it('sends its internal identity with every call, reads credentials and records probe times', async () => {
    await client.createCluster(cluster('c'));
    const credentials = await client.getClusterCredentials('c');
    expect(credentials).toEqual({ uid: 'uid-c', kubeconfig: 'kubeconfig-of-c' });
    expect(await client.recordProbeTimes([{ name: 'c', time: '2026-11-01T00:00:00Z' }, { name: 'gone', time: '2026-11-01T00:00:00Z' }])).toBe(1);

    await expect(anonymous.getClusterCredentials('c')).rejects.toMatchObject({ reason: ErrorReason.Unauthorized });
    await expect(anonymous.recordProbeTimes([])).rejects.toMatchObject({ reason: ErrorReason.Unauthorized });

    // Every method of every service checks the caller's identity now (issue 11), so every call carries it.
    const fromClient = registry.seen.filter((s) => s.authorization !== undefined).map((s) => s.method);
    expect(fromClient).toEqual(['createCluster', 'getClusterCredentials', 'recordProbeTimes']);
  });

  it('watches: changes arrive as domain clusters, bookmarks as their resourceVersion alone', async () => {
    const a = await client.createCluster(cluster('w'));
    const events = await lastValueFrom(client.watchClusters({ allowBookmarks: true }).pipe(toArray()));
    expect(events).toEqual([
      { type: 'ADDED', object: a },
      { type: 'BOOKMARK', resourceVersion: '1' },
      { type: 'DELETED', object: a },
    ]);
    expect(registry.seen.find((s) => s.method === 'watchClusters')?.request).toMatchObject({ resourceVersion: '', labelSelector: '', fieldSelector: '', allowBookmarks: true });
  });

  it('a watch from too far back fails with the domain error (Gone), as the REST API shows it', async () => {
    await expect(lastValueFrom(client.watchClusters({ resourceVersion: 'too-old' }))).rejects.toMatchObject({ reason: ErrorReason.Gone, message: 'too old resource version: too-old' });
  });
});
