import { execFileSync } from 'node:child_process';
import { Client } from 'pg';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { firstValueFrom, take, toArray } from 'rxjs';
import { CLUSTER_API_VERSION, Cluster, ErrorReason, FlotillaError } from '@flotilla/domain';
import { clusterToProto, registryV1 } from '@flotilla/contracts';
import { RegistryClient, RunningService } from '@flotilla/service-kit';
import { PlatformEnv, TEST_REDIS_URL, eventually, grpcHealthCheck, grpcReflectionServices, preparePlatformEnv, reasonOf } from '@flotilla/testing';
import { startRegistry } from './main';

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: m
  cluster: {server: "https://203.0.113.10:6443"}
users:
- name: admin
  user: {token: "PLAINTEXT-TOKEN-7f3a9c"}
contexts:
- name: m
  context: {cluster: m, user: admin}
current-context: m
`;

function cluster(name: string, labels: Record<string, string> = {}): Cluster {
  return {
    apiVersion: CLUSTER_API_VERSION,
    kind: 'Cluster',
    metadata: { name, labels },
    spec: { provider: 'kubeadm', connection: { type: 'direct', kubeconfig: KUBECONFIG } },
  };
}

describe('registry (real Postgres and Redis, over gRPC)', () => {
  let platform: PlatformEnv;
  let running: RunningService;
  let client: RegistryClient;
  let pg: Client;
  let redis: Redis;

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    ({ running } = await startRegistry(platform.env('registry')));
    client = new RegistryClient(`127.0.0.1:${platform.ports.registryGrpc}`, platform.internalToken);
    pg = new Client({ connectionString: platform.db.url });
    await pg.connect();
    redis = new Redis(TEST_REDIS_URL);
  });

  afterAll(async () => {
    client?.close();
    await running?.stop();
    await pg?.end();
    await redis?.quit();
    await platform?.cleanup();
  });

  const create = (c: Cluster) => client.createCluster({ cluster: clusterToProto(c, true) });

  it('stores a cluster with Initialized=False and Ready=Unknown, and never returns its kubeconfig', async () => {
    const created = await create(cluster('alpha', { env: 'prod' }));
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.resourceVersion).toMatch(/^\d+$/);
    expect(created.metadata?.generation).toBe('1');
    expect(created.spec?.connection?.kubeconfig).toBe('');
    const conditions = Object.fromEntries((created.status?.conditions ?? []).map((c) => [c.type, c.status]));
    expect(conditions).toEqual({ Initialized: 'False', Ready: 'Unknown' });
    const got = await client.getCluster({ name: 'alpha' });
    expect(JSON.stringify(got)).not.toContain('PLAINTEXT-TOKEN');
  });

  it('keeps only ciphertext in the database: a pg_dump holds no plaintext credential', async () => {
    const { rows } = await pg.query(`SELECT key_id, ciphertext FROM cluster_credentials c JOIN clusters k ON k.uid = c.cluster_uid WHERE k.name = 'alpha'`);
    expect(rows).toHaveLength(1);
    expect(rows[0].key_id).toBe('k1');
    const dump = execFileSync('pg_dump', ['--data-only', platform.db.url], { encoding: 'latin1', maxBuffer: 64 * 1024 * 1024 });
    expect(dump).toContain('alpha');
    expect(dump).not.toContain('PLAINTEXT-TOKEN');
    expect(dump).not.toContain(Buffer.from('PLAINTEXT-TOKEN').toString('hex'));
  });

  it('returns decrypted credentials only to callers holding the internal token', async () => {
    const creds = await client.getClusterCredentials({ name: 'alpha' });
    expect(creds.kubeconfig).toBe(KUBECONFIG);
    const stranger = new RegistryClient(`127.0.0.1:${platform.ports.registryGrpc}`, 'wrong-token-wrong-token-wrong-token');
    const anonymous = new RegistryClient(`127.0.0.1:${platform.ports.registryGrpc}`);
    expect(await reasonOf(stranger.getClusterCredentials({ name: 'alpha' }))).toBe(ErrorReason.Unauthorized);
    expect(await reasonOf(anonymous.getClusterCredentials({ name: 'alpha' }))).toBe(ErrorReason.Unauthorized);
    stranger.close();
    anonymous.close();
  });

  it('enqueues one import job carrying only the name and uid', async () => {
    const alpha = await client.getCluster({ name: 'alpha' });
    const queue = new Queue('cluster-import', { connection: redis, prefix: platform.queuePrefix });
    const job = await eventually(async () => {
      const j = await queue.getJob(`cluster.import.${alpha.metadata!.uid}`);
      expect(j).toBeDefined();
      return j!;
    });
    expect(job.name).toBe('cluster.import');
    expect(job.data).toEqual({ name: 'alpha', uid: alpha.metadata!.uid });
    expect(await queue.count()).toBe(1);
    await queue.close();
  });

  it('refuses a duplicate name with AlreadyExists and writes nothing more', async () => {
    const before = await pg.query('SELECT count(*)::int AS n FROM job_outbox');
    expect(await reasonOf(create(cluster('alpha')))).toBe(ErrorReason.AlreadyExists);
    const after = await pg.query('SELECT count(*)::int AS n FROM job_outbox');
    expect(after.rows[0].n).toBe(before.rows[0].n);
    const { rows } = await pg.query(`SELECT count(*)::int AS n FROM clusters WHERE name = 'alpha'`);
    expect(rows[0].n).toBe(1);
  });

  it('refuses invalid input with Invalid naming the fields, and stores nothing', async () => {
    const bad = cluster('Not_Valid');
    bad.spec.connection.type = 'carrier-pigeon';
    try {
      await create(bad);
      throw new Error('accepted');
    } catch (error) {
      expect((error as FlotillaError).reason).toBe(ErrorReason.Invalid);
      expect((error as FlotillaError).details.causes?.map((c) => c.field)).toEqual(['metadata.name', 'spec.connection.type']);
    }
    const { rows } = await pg.query(`SELECT count(*)::int AS n FROM clusters WHERE name = 'Not_Valid'`);
    expect(rows[0].n).toBe(0);
  });

  it('updates with optimistic concurrency: a stale resourceVersion gets Conflict', async () => {
    const current = await client.getCluster({ name: 'alpha' });
    const next = { ...current, metadata: { ...current.metadata, labels: { env: 'prod', team: 'a' } } };
    const updated = await client.updateCluster({ cluster: next });
    expect(updated.metadata?.resourceVersion).not.toBe(current.metadata?.resourceVersion);
    expect(updated.metadata?.generation).toBe('1'); // metadata-only change: generation stays
    expect(await reasonOf(client.updateCluster({ cluster: next }))).toBe(ErrorReason.Conflict);
    const specChange = { ...updated, spec: { ...updated.spec, description: 'primary' } };
    const bumped = await client.updateCluster({ cluster: specChange });
    expect(bumped.metadata?.generation).toBe('2');
    // The stored credentials survive an update that does not mention them.
    expect((await client.getClusterCredentials({ name: 'alpha' })).kubeconfig).toBe(KUBECONFIG);
  });

  it('patches atomically; a failing JSON patch test writes nothing', async () => {
    const before = await client.getCluster({ name: 'alpha' });
    const merged = await client.patchCluster({ name: 'alpha', patchType: 'application/merge-patch+json', patch: JSON.stringify({ metadata: { labels: { team: null, tier: 'gold' } } }) });
    expect(merged.metadata?.labels).toEqual({ env: 'prod', tier: 'gold' });
    expect(await reasonOf(client.patchCluster({ name: 'alpha', patchType: 'application/json-patch+json', patch: JSON.stringify([{ op: 'test', path: '/metadata/labels/tier', value: 'silver' }, { op: 'remove', path: '/metadata/labels/env' }]) }))).toBe(ErrorReason.BadRequest);
    const after = await client.getCluster({ name: 'alpha' });
    expect(after.metadata?.resourceVersion).toBe(merged.metadata?.resourceVersion);
    expect(after.metadata?.resourceVersion).not.toBe(before.metadata?.resourceVersion);
    expect(await reasonOf(client.patchCluster({ name: 'alpha', patchType: 'application/json-patch+json', patch: '[{"op":"replace","path":"/metadata/name","value":"beta"}]' }))).toBe(ErrorReason.Invalid);
    expect(await reasonOf(client.patchCluster({ name: 'alpha', patchType: 'application/merge-patch+json', patch: '{not json' }))).toBe(ErrorReason.BadRequest);
  });

  it('lists with label selectors, field selectors, and limit/continue pages', async () => {
    for (const [name, env] of [['b1', 'dev'], ['b2', 'dev'], ['b3', 'prod'], ['b4', 'dev'], ['b5', 'dev']] as const) await create(cluster(name, { env }));
    const dev = await client.listClusters({ labelSelector: 'env=dev' });
    expect(dev.items?.map((c) => c.metadata?.name)).toEqual(['b1', 'b2', 'b4', 'b5']);
    const notDev = await client.listClusters({ labelSelector: 'env notin (dev)' });
    expect(notDev.items?.map((c) => c.metadata?.name)).toEqual(['alpha', 'b3']);
    expect((await client.listClusters({ fieldSelector: 'metadata.name=b3' })).items?.map((c) => c.metadata?.name)).toEqual(['b3']);
    const page1 = await client.listClusters({ labelSelector: 'env=dev', limit: 3 });
    expect(page1.items?.map((c) => c.metadata?.name)).toEqual(['b1', 'b2', 'b4']);
    expect(page1.metadata?.remainingItemCount).toBe('1');
    const page2 = await client.listClusters({ labelSelector: 'env=dev', limit: 3, continue: page1.metadata!.continue });
    expect(page2.items?.map((c) => c.metadata?.name)).toEqual(['b5']);
    expect(page2.metadata?.continue).toBe('');
    expect(await reasonOf(client.listClusters({ continue: 'garbage' }))).toBe(ErrorReason.BadRequest);
    expect(await reasonOf(client.listClusters({ labelSelector: 'env in (a' }))).toBe(ErrorReason.BadRequest);
    expect(await reasonOf(client.listClusters({ fieldSelector: 'spec.provider=x' }))).toBe(ErrorReason.BadRequest);
  });

  it('writes status through the status subresource, moving lastTransitionTime only on a change', async () => {
    const ready = (status: string, reason: string): registryV1.ClusterStatus => ({
      conditions: [{ type: 'Ready', status, reason, message: `${reason} message` }],
      kubernetesVersion: 'v1.30.4',
      nodeCount: 3,
      zones: ['z1', 'z2'],
      region: 'r1',
    });
    const first = await client.updateClusterStatus({ name: 'b1', status: ready('True', 'ClusterReady') });
    const t1 = first.status?.conditions?.find((c) => c.type === 'Ready');
    expect(first.status).toMatchObject({ kubernetesVersion: 'v1.30.4', nodeCount: 3, zones: ['z1', 'z2'], region: 'r1' });
    const again = await client.updateClusterStatus({ name: 'b1', status: ready('True', 'ClusterReady') });
    expect(again.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion); // nothing changed, nothing written
    await new Promise((r) => setTimeout(r, 1100)); // timestamps have second precision
    const flipped = await client.updateClusterStatus({ name: 'b1', status: ready('False', 'ClusterNotReachable') });
    const t2 = flipped.status?.conditions?.find((c) => c.type === 'Ready');
    expect(t2?.lastTransitionTime).not.toBe(t1?.lastTransitionTime);
    expect(await reasonOf(client.updateClusterStatus({ name: 'b1', status: { conditions: [{ type: 'Ready', status: 'Maybe' }] } }))).toBe(ErrorReason.Invalid);
    expect(await reasonOf(client.updateClusterStatus({ name: 'b1', resourceVersion: '1', status: ready('True', 'ClusterReady') }))).toBe(ErrorReason.Conflict);
  });

  it('adds the unbind finalizer at create; DELETE marks the cluster and enqueues its removal through the outbox', async () => {
    const b2 = await client.getCluster({ name: 'b2' });
    expect(b2.metadata?.finalizers).toEqual(['cluster.flotilla.io/unbind']);
    const marked = await client.deleteCluster({ name: 'b2' });
    expect(marked.deleted).toBe(false);
    expect(marked.cluster?.metadata?.deletionTimestamp).not.toBe('');
    const { rows } = await pg.query(`SELECT job_name, payload FROM job_outbox WHERE idempotency_key = $1`, [`cluster.remove.${b2.metadata!.uid}`]);
    expect(rows).toEqual([{ job_name: 'cluster.remove', payload: { name: 'b2', uid: b2.metadata!.uid } }]);
    // A second DELETE changes nothing and enqueues nothing more.
    expect((await client.deleteCluster({ name: 'b2' })).deleted).toBe(false);
    const again = await pg.query(`SELECT count(*)::int AS n FROM job_outbox WHERE job_name = 'cluster.remove' AND payload->>'name' = 'b2'`);
    expect(again.rows[0].n).toBe(1);
  });

  it('deletes at once without finalizers, and waits on finalizers when there are some', async () => {
    // The removal job's last step: dropping the unbind finalizer removes the record.
    await client.patchCluster({ name: 'b2', patchType: 'application/merge-patch+json', patch: '{"metadata":{"finalizers":null}}' });
    expect(await reasonOf(client.getCluster({ name: 'b2' }))).toBe(ErrorReason.NotFound);
    const { rows } = await pg.query(`SELECT count(*)::int AS n FROM cluster_credentials c LEFT JOIN clusters k ON k.uid = c.cluster_uid WHERE k.uid IS NULL`);
    expect(rows[0].n).toBe(0); // credentials went with the record

    const held = cluster('held');
    held.metadata.finalizers = ['flotilla.io/test'];
    await create(held);
    const marked = await client.deleteCluster({ name: 'held' });
    expect(marked.deleted).toBe(false);
    expect(marked.cluster?.metadata?.deletionTimestamp).not.toBe('');
    expect(await reasonOf(client.patchCluster({ name: 'held', patchType: 'application/merge-patch+json', patch: '{"metadata":{"finalizers":["flotilla.io/test","other.io/x"]}}' }))).toBe(ErrorReason.Invalid);
    await client.patchCluster({ name: 'held', patchType: 'application/merge-patch+json', patch: '{"metadata":{"finalizers":null}}' });
    expect(await reasonOf(client.getCluster({ name: 'held' }))).toBe(ErrorReason.NotFound);

    const b3 = await client.getCluster({ name: 'b3' });
    expect(await reasonOf(client.deleteCluster({ name: 'b3', preconditions: { uid: '00000000-0000-0000-0000-000000000000' } }))).toBe(ErrorReason.Conflict);
    // b3 carries the unbind finalizer (added at create), so DELETE marks it.
    expect((await client.deleteCluster({ name: 'b3', preconditions: { resourceVersion: b3.metadata!.resourceVersion } })).deleted).toBe(false);
  });

  it('streams changes to watchers, resumes from a resourceVersion, and expires one too old', async () => {
    const start = (await client.listClusters({})).metadata!.resourceVersion!;
    const events = firstValueFrom(client.watchClusters({ resourceVersion: start, labelSelector: 'env=dev' }).pipe(take(4), toArray()));
    await create(cluster('w1', { env: 'dev' }));
    await create(cluster('w2', { env: 'other' })); // filtered out
    await client.patchCluster({ name: 'w1', patchType: 'application/merge-patch+json', patch: '{"spec":{"description":"x"}}' });
    await client.deleteCluster({ name: 'w1' }); // marks it (unbind finalizer)
    await client.patchCluster({ name: 'w1', patchType: 'application/merge-patch+json', patch: '{"metadata":{"finalizers":null}}' });
    const seen = await events;
    expect(seen.map((e) => `${e.type} ${e.object?.metadata?.name}`)).toEqual(['ADDED w1', 'MODIFIED w1', 'MODIFIED w1', 'DELETED w1']);
    const rvs = seen.map((e) => BigInt(e.object!.metadata!.resourceVersion!));
    expect([...rvs].sort((a, b) => (a < b ? -1 : 1))).toEqual(rvs);
    expect(JSON.stringify(seen)).not.toContain('PLAINTEXT-TOKEN');

    // Resuming from the first event's version replays the rest.
    const resumed = await firstValueFrom(client.watchClusters({ resourceVersion: seen[0]!.object!.metadata!.resourceVersion!, labelSelector: 'env=dev' }).pipe(take(3), toArray()));
    expect(resumed.map((e) => e.type)).toEqual(['MODIFIED', 'MODIFIED', 'DELETED']);

    // Without a version: the current state first, as ADDED events.
    const initial = await firstValueFrom(client.watchClusters({ fieldSelector: 'metadata.name=alpha' }).pipe(take(1), toArray()));
    expect(initial.map((e) => `${e.type} ${e.object?.metadata?.name}`)).toEqual(['ADDED alpha']);

    // Once the log is pruned past a version, resuming from it is Expired (410).
    await pg.query(`DELETE FROM cluster_changes WHERE resource_version <= $1`, [seen[1]!.object!.metadata!.resourceVersion]);
    const expired = firstValueFrom(client.watchClusters({ resourceVersion: start }));
    expect(await reasonOf(expired)).toBe(ErrorReason.Gone);
    expect(await reasonOf(firstValueFrom(client.watchClusters({ resourceVersion: 'abc' })))).toBe(ErrorReason.BadRequest);
  });

  it('serves last probe times as status.lastProbeTime without storing, versioning or broadcasting them', async () => {
    await create(cluster('p1'));
    await create(cluster('p2'));
    const before = await client.getCluster({ name: 'p1' });
    const start = (await client.listClusters({})).metadata!.resourceVersion!;
    const changes: string[] = [];
    const sub = client.watchClusters({ resourceVersion: start, fieldSelector: 'metadata.name=p1' }).subscribe({ next: (e) => void changes.push(`${e.type}`), error: () => undefined });
    const t1 = '2026-11-24T10:00:00.000Z';
    const t2 = '2026-11-24T10:00:10.000Z';
    const recorded = await client.recordProbeTimes({ entries: [{ name: 'p1', time: t1 }, { name: 'p1', time: t2 }, { name: 'p2', time: t1 }, { name: 'no-such-cluster', time: t1 }] });
    expect(recorded.recorded).toBe(2); // the newest time per cluster; unknown names skipped
    const p1 = await client.getCluster({ name: 'p1' });
    expect(p1.status?.lastProbeTime).toBe(t2);
    expect(p1.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    const listed = await client.listClusters({ fieldSelector: 'metadata.name=p2' });
    expect(listed.items?.[0]?.status?.lastProbeTime).toBe(t1);
    // Not stored with the status: a status write carrying it neither stores it nor counts as a change.
    const written = await client.updateClusterStatus({ name: 'p1', status: { ...p1.status, lastProbeTime: '2020-01-01T00:00:00Z' } });
    expect(written.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    const { rows } = await pg.query(`SELECT status FROM clusters WHERE name = 'p1'`);
    expect(rows[0].status).not.toHaveProperty('lastProbeTime');
    expect((await client.getCluster({ name: 'p1' })).status?.lastProbeTime).toBe(t2);
    // Probe times are internal: the internal token is required, and bad entries are named.
    const anonymous = new RegistryClient(`127.0.0.1:${platform.ports.registryGrpc}`);
    expect(await reasonOf(anonymous.recordProbeTimes({ entries: [{ name: 'p1', time: t1 }] }))).toBe(ErrorReason.Unauthorized);
    anonymous.close();
    const bad = await client.recordProbeTimes({ entries: [{ name: 'p1', time: 'yesterday' }] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(FlotillaError);
    expect((bad as FlotillaError).reason).toBe(ErrorReason.BadRequest);
    expect(JSON.stringify((bad as FlotillaError).details)).toContain('entries[0].time');
    // A removed cluster's probe time goes with it; a new cluster of the same name starts without one.
    await client.deleteCluster({ name: 'p2' });
    await client.patchCluster({ name: 'p2', patchType: 'application/merge-patch+json', patch: '{"metadata":{"finalizers":null}}' });
    await create(cluster('p2'));
    expect((await client.getCluster({ name: 'p2' })).status?.lastProbeTime ?? '').toBe('');
    await new Promise((r) => setTimeout(r, 300));
    sub.unsubscribe();
    expect(changes).toEqual([]); // recording probe times made no watch event
  });

  it('serves grpc.health.v1 and server reflection', async () => {
    const target = `127.0.0.1:${platform.ports.registryGrpc}`;
    expect(await grpcHealthCheck(target)).toBe('SERVING');
    expect(await grpcHealthCheck(target, 'no.such.Service')).toBe('SERVICE_UNKNOWN');
    expect(await grpcReflectionServices(target)).toEqual(
      expect.arrayContaining(['flotilla.registry.v1.RegistryService', 'flotilla.worker.v1.WorkerService', 'grpc.health.v1.Health']),
    );
  });

  it('reports readiness of its database and Redis, and Prometheus metrics', async () => {
    const ready = await fetch(`http://127.0.0.1:${platform.ports.registryHttp}/readyz?verbose`);
    expect(ready.status).toBe(200);
    const report = (await ready.json()) as { ready: boolean; checks: { name: string; ok: boolean }[] };
    expect(report.ready).toBe(true);
    expect(report.checks.map((c) => `${c.name}=${c.ok}`).sort()).toEqual(['postgres=true', 'redis=true']);
    const metrics = await (await fetch(`http://127.0.0.1:${platform.ports.registryHttp}/metrics`)).text();
    expect(metrics).toMatch(/flotilla_grpc_request_duration_seconds_count\{service="registry",method="ClustersGrpcController.createCluster",code="OK"\} \d+/);
    expect(metrics).toMatch(/flotilla_grpc_request_duration_seconds_count\{service="registry",method="ClustersGrpcController.createCluster",code="ALREADY_EXISTS"\} [1-9]/);
  });
});
