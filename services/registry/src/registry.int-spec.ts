import { Client } from 'pg';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { firstValueFrom, take, toArray } from 'rxjs';
import { Cluster, ClusterStatus, ConditionStatus, ErrorReason, FlotillaError, PatchType } from '@flotilla/domain';
import { clusterToProto, registryV1 } from '@flotilla/contracts';
import { ClusterWatchEvent, GrpcServiceClient, RegistryClient } from '@flotilla/clients';
import { PlatformEnv, TEST_REDIS_URL, columnsHolding, eventually, grpcHealthCheck, grpcReflectionServices, preparePlatformEnv, reasonOf } from '@flotilla/testing';
import type { Clock } from './infrastructure/clock';
import { TestRegistry, directCluster, startTestRegistry, tokenKubeconfig } from './testing/registry-harness';

const SECRET = 'PLAINTEXT-TOKEN-7f3a9c';

const KUBECONFIG = tokenKubeconfig(SECRET);

function cluster(name: string, labels: Record<string, string> = {}): Cluster {
  return directCluster(name, KUBECONFIG, { labels });
}

/** The changed cluster a watch event carries (the tests here ask for no bookmarks). */
function objectOf(e: ClusterWatchEvent): Cluster {
  if (e.type === 'BOOKMARK') throw new Error(`unexpected bookmark at ${e.resourceVersion}`);
  return e.object;
}

/** The registry's gRPC service itself, for what the domain client does not show (the wire messages). */
function rawRegistry(target: string, internalToken?: string): GrpcServiceClient<registryV1.RegistryServiceClient> {
  return new GrpcServiceClient(
    target,
    { package: registryV1.PROTOBUF_PACKAGE, protoFile: registryV1.PROTO_FILE, service: registryV1.REGISTRY_SERVICE_NAME },
    { internalToken, upstream: 'registry' },
  );
}

/** The system clock, moved forward by the tests that need time to pass (record times have second precision). */
class SteppedClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

describe('registry (real Postgres and Redis, over gRPC)', () => {
  let registry: TestRegistry<PlatformEnv>;
  let platform: PlatformEnv;
  let client: RegistryClient;
  let raw: GrpcServiceClient<registryV1.RegistryServiceClient>;
  let pg: Client;
  let redis: Redis;
  const clock = new SteppedClock();

  beforeAll(async () => {
    registry = await startTestRegistry(preparePlatformEnv, { clock });
    ({ platform, client, pg } = registry);
    raw = rawRegistry(`127.0.0.1:${platform.ports.registryGrpc}`, platform.internalToken);
    redis = new Redis(TEST_REDIS_URL);
  });

  afterAll(async () => {
    raw?.close();
    await redis?.quit();
    await registry?.stop();
  });

  const create = (c: Cluster) => client.createCluster(c);

  it('stores a cluster with Initialized=False and Ready=Unknown, and never returns its kubeconfig', async () => {
    // On the wire: the response messages themselves carry no credential.
    const created = await raw.unary(raw.service.createCluster, { cluster: clusterToProto(cluster('alpha', { env: 'prod' }), true), dryRun: false });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata?.resourceVersion).toMatch(/^\d+$/);
    expect(created.metadata?.generation).toBe('1');
    expect(created.spec?.connection?.kubeconfig).toBe('');
    const conditions = Object.fromEntries((created.status?.conditions ?? []).map((c) => [c.type, c.status]));
    expect(conditions).toEqual({ Initialized: 'False', Ready: 'Unknown' });
    const got = await raw.unary(raw.service.getCluster, { name: 'alpha' });
    expect(JSON.stringify(got)).not.toContain('PLAINTEXT-TOKEN');
  });

  it('keeps only ciphertext in the database: no column of any table holds a plaintext credential', async () => {
    const { rows } = await pg.query(`SELECT key_id, ciphertext FROM cluster_credentials c JOIN clusters k ON k.uid = c.cluster_uid WHERE k.name = 'alpha'`);
    expect(rows).toHaveLength(1);
    expect(rows[0].key_id).toBe('k1');
    // The scan finds what is there: the cluster's name, and a leak planted (then rolled back) in a jsonb and a bytea column.
    expect((await columnsHolding(pg, 'alpha')).hits).toEqual(expect.arrayContaining(['clusters.name', 'cluster_changes.name']));
    await pg.query('BEGIN');
    try {
      await pg.query(`UPDATE clusters SET annotations = annotations || jsonb_build_object('leak', $1::text) WHERE name = 'alpha'`, [KUBECONFIG]);
      await pg.query(`UPDATE cluster_credentials SET ciphertext = convert_to($1, 'UTF8') WHERE cluster_uid = (SELECT uid FROM clusters WHERE name = 'alpha')`, [KUBECONFIG]);
      expect((await columnsHolding(pg, SECRET)).hits).toEqual(['cluster_credentials.ciphertext', 'clusters.annotations']);
    } finally {
      await pg.query('ROLLBACK');
    }
    // Every table, the change log and the outbox included, holds no plaintext credential.
    const scan = await columnsHolding(pg, SECRET);
    expect(scan.tables).toEqual(expect.arrayContaining(['cluster_changes', 'cluster_credentials', 'clusters', 'job_outbox']));
    expect(scan.hits).toEqual([]);
    expect((await columnsHolding(pg, 'PLAINTEXT-TOKEN')).hits).toEqual([]);
  });

  it('returns decrypted credentials only to callers holding the internal token', async () => {
    const creds = await client.getClusterCredentials('alpha');
    expect(creds.kubeconfig).toBe(KUBECONFIG);
    const stranger = new RegistryClient(`127.0.0.1:${platform.ports.registryGrpc}`, 'wrong-token-wrong-token-wrong-token');
    const anonymous = new RegistryClient(`127.0.0.1:${platform.ports.registryGrpc}`);
    expect(await reasonOf(stranger.getClusterCredentials('alpha'))).toBe(ErrorReason.Unauthorized);
    expect(await reasonOf(anonymous.getClusterCredentials('alpha'))).toBe(ErrorReason.Unauthorized);
    stranger.close();
    anonymous.close();
  });

  it('enqueues one import job carrying only the name and uid', async () => {
    const alpha = await client.getCluster('alpha');
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
    const current = await client.getCluster('alpha');
    const next = { ...current, metadata: { ...current.metadata, labels: { env: 'prod', team: 'a' } } };
    const updated = await client.updateCluster(next);
    expect(updated.metadata?.resourceVersion).not.toBe(current.metadata?.resourceVersion);
    expect(updated.metadata?.generation).toBe(1); // metadata-only change: generation stays
    expect(await reasonOf(client.updateCluster(next))).toBe(ErrorReason.Conflict);
    const specChange = { ...updated, spec: { ...updated.spec, description: 'primary' } };
    const bumped = await client.updateCluster(specChange);
    expect(bumped.metadata?.generation).toBe(2);
    // The stored credentials survive an update that does not mention them.
    expect((await client.getClusterCredentials('alpha')).kubeconfig).toBe(KUBECONFIG);
  });

  it('patches atomically; a failing JSON patch test writes nothing', async () => {
    const before = await client.getCluster('alpha');
    const merged = await client.patchCluster('alpha', PatchType.Merge, JSON.stringify({ metadata: { labels: { team: null, tier: 'gold' } } }));
    expect(merged.metadata?.labels).toEqual({ env: 'prod', tier: 'gold' });
    expect(await reasonOf(client.patchCluster('alpha', PatchType.Json, JSON.stringify([{ op: 'test', path: '/metadata/labels/tier', value: 'silver' }, { op: 'remove', path: '/metadata/labels/env' }])))).toBe(ErrorReason.BadRequest);
    const after = await client.getCluster('alpha');
    expect(after.metadata?.resourceVersion).toBe(merged.metadata?.resourceVersion);
    expect(after.metadata?.resourceVersion).not.toBe(before.metadata?.resourceVersion);
    expect(await reasonOf(client.patchCluster('alpha', PatchType.Json, '[{"op":"replace","path":"/metadata/name","value":"beta"}]'))).toBe(ErrorReason.Invalid);
    expect(await reasonOf(client.patchCluster('alpha', PatchType.Merge, '{not json'))).toBe(ErrorReason.BadRequest);
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
    expect(page1.metadata?.remainingItemCount).toBe(1);
    const page2 = await client.listClusters({ labelSelector: 'env=dev', limit: 3, continue: page1.metadata!.continue });
    expect(page2.items?.map((c) => c.metadata?.name)).toEqual(['b5']);
    expect(page2.metadata?.continue).toBeUndefined();
    expect(await reasonOf(client.listClusters({ continue: 'garbage' }))).toBe(ErrorReason.BadRequest);
    expect(await reasonOf(client.listClusters({ labelSelector: 'env in (a' }))).toBe(ErrorReason.BadRequest);
    expect(await reasonOf(client.listClusters({ fieldSelector: 'spec.provider=x' }))).toBe(ErrorReason.BadRequest);
  });

  it('writes status through the status subresource, moving lastTransitionTime only on a change', async () => {
    const ready = (status: ConditionStatus, reason: string): ClusterStatus => ({
      conditions: [{ type: 'Ready', status, reason, message: `${reason} message` }],
      kubernetesVersion: 'v1.30.4',
      nodeCount: 3,
      zones: ['z1', 'z2'],
      region: 'r1',
    });
    const first = await client.updateClusterStatus('b1', ready('True', 'ClusterReady'));
    const t1 = first.status?.conditions?.find((c) => c.type === 'Ready');
    expect(first.status).toMatchObject({ kubernetesVersion: 'v1.30.4', nodeCount: 3, zones: ['z1', 'z2'], region: 'r1' });
    const again = await client.updateClusterStatus('b1', ready('True', 'ClusterReady'));
    expect(again.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion); // nothing changed, nothing written
    const hour = 3600_000;
    const elapsed = (from?: string, to?: string) => Date.parse(to ?? '') - Date.parse(from ?? '');
    // An hour later, the same status with another reason: written, but the transition time stays.
    clock.advance(hour);
    const reworded = await client.updateClusterStatus('b1', ready('True', 'ClusterStillReady'));
    const tr = reworded.status?.conditions?.find((c) => c.type === 'Ready');
    expect(reworded.metadata?.resourceVersion).not.toBe(first.metadata?.resourceVersion);
    expect(tr?.lastTransitionTime).toBe(t1?.lastTransitionTime);
    expect(elapsed(t1?.lastUpdateTime, tr?.lastUpdateTime)).toBeGreaterThanOrEqual(hour);
    // Another hour later, a status change moves it.
    clock.advance(hour);
    const flipped = await client.updateClusterStatus('b1', ready('False', 'ClusterNotReachable'));
    const t2 = flipped.status?.conditions?.find((c) => c.type === 'Ready');
    expect(t2?.lastTransitionTime).not.toBe(t1?.lastTransitionTime);
    expect(elapsed(t1?.lastTransitionTime, t2?.lastTransitionTime)).toBeGreaterThanOrEqual(2 * hour);
    expect(elapsed(t1?.lastTransitionTime, t2?.lastTransitionTime)).toBeLessThan(2 * hour + 60_000);
    expect(await reasonOf(client.updateClusterStatus('b1', { conditions: [{ type: 'Ready', status: 'Maybe' as ConditionStatus }] }))).toBe(ErrorReason.Invalid);
    expect(await reasonOf(client.updateClusterStatus('b1', ready('True', 'ClusterReady'), { resourceVersion: '1' }))).toBe(ErrorReason.Conflict);
  });

  it('adds the unbind finalizer at create; DELETE marks the cluster and enqueues its removal through the outbox', async () => {
    const b2 = await client.getCluster('b2');
    expect(b2.metadata?.finalizers).toEqual(['cluster.flotilla.io/unbind']);
    const marked = await client.deleteCluster('b2');
    expect(marked.deleted).toBe(false);
    expect(marked.cluster?.metadata?.deletionTimestamp).toEqual(expect.any(String));
    const { rows } = await pg.query(`SELECT job_name, payload FROM job_outbox WHERE idempotency_key = $1`, [`cluster.remove.${b2.metadata!.uid}`]);
    expect(rows).toEqual([{ job_name: 'cluster.remove', payload: { name: 'b2', uid: b2.metadata!.uid } }]);
    // A second DELETE changes nothing and enqueues nothing more.
    expect((await client.deleteCluster('b2')).deleted).toBe(false);
    const again = await pg.query(`SELECT count(*)::int AS n FROM job_outbox WHERE job_name = 'cluster.remove' AND payload->>'name' = 'b2'`);
    expect(again.rows[0].n).toBe(1);
  });

  it('deletes at once without finalizers, and waits on finalizers when there are some', async () => {
    // The removal job's last step: dropping the unbind finalizer removes the record.
    await client.patchCluster('b2', PatchType.Merge, '{"metadata":{"finalizers":null}}');
    expect(await reasonOf(client.getCluster('b2'))).toBe(ErrorReason.NotFound);
    const { rows } = await pg.query(`SELECT count(*)::int AS n FROM cluster_credentials c LEFT JOIN clusters k ON k.uid = c.cluster_uid WHERE k.uid IS NULL`);
    expect(rows[0].n).toBe(0); // credentials went with the record

    const held = cluster('held');
    held.metadata.finalizers = ['flotilla.io/test'];
    await create(held);
    const marked = await client.deleteCluster('held');
    expect(marked.deleted).toBe(false);
    expect(marked.cluster?.metadata?.deletionTimestamp).toEqual(expect.any(String));
    expect(await reasonOf(client.patchCluster('held', PatchType.Merge, '{"metadata":{"finalizers":["flotilla.io/test","other.io/x"]}}'))).toBe(ErrorReason.Invalid);
    await client.patchCluster('held', PatchType.Merge, '{"metadata":{"finalizers":null}}');
    expect(await reasonOf(client.getCluster('held'))).toBe(ErrorReason.NotFound);

    const b3 = await client.getCluster('b3');
    expect(await reasonOf(client.deleteCluster('b3', { preconditions: { uid: '00000000-0000-0000-0000-000000000000' } }))).toBe(ErrorReason.Conflict);
    // b3 carries the unbind finalizer (added at create), so DELETE marks it.
    expect((await client.deleteCluster('b3', { preconditions: { resourceVersion: b3.metadata!.resourceVersion } })).deleted).toBe(false);
  });

  it('streams changes to watchers, resumes from a resourceVersion, and expires one too old', async () => {
    const start = (await client.listClusters()).metadata.resourceVersion;
    const events = firstValueFrom(client.watchClusters({ resourceVersion: start, labelSelector: 'env=dev' }).pipe(take(4), toArray()));
    // The same watch on the wire, to check the messages themselves carry no credential.
    const wire = firstValueFrom(
      raw.stream(raw.service.watchClusters, { resourceVersion: start, labelSelector: 'env=dev', fieldSelector: '', allowBookmarks: false }).pipe(take(4), toArray()),
    );
    await create(cluster('w1', { env: 'dev' }));
    await create(cluster('w2', { env: 'other' })); // filtered out
    await client.patchCluster('w1', PatchType.Merge, '{"spec":{"description":"x"}}');
    await client.deleteCluster('w1'); // marks it (unbind finalizer)
    await client.patchCluster('w1', PatchType.Merge, '{"metadata":{"finalizers":null}}');
    const seen = await events;
    expect(seen.map((e) => `${e.type} ${objectOf(e).metadata?.name}`)).toEqual(['ADDED w1', 'MODIFIED w1', 'MODIFIED w1', 'DELETED w1']);
    const rvs = seen.map((e) => BigInt(objectOf(e).metadata!.resourceVersion!));
    expect([...rvs].sort((a, b) => (a < b ? -1 : 1))).toEqual(rvs);
    const wireSeen = await wire;
    expect(wireSeen.map((e) => `${e.type} ${e.object?.metadata?.name}`)).toEqual(['ADDED w1', 'MODIFIED w1', 'MODIFIED w1', 'DELETED w1']);
    expect(JSON.stringify(wireSeen)).not.toContain('PLAINTEXT-TOKEN');

    // Resuming from the first event's version replays the rest.
    const resumed = await firstValueFrom(client.watchClusters({ resourceVersion: objectOf(seen[0]!).metadata!.resourceVersion!, labelSelector: 'env=dev' }).pipe(take(3), toArray()));
    expect(resumed.map((e) => e.type)).toEqual(['MODIFIED', 'MODIFIED', 'DELETED']);

    // Without a version: the current state first, as ADDED events.
    const initial = await firstValueFrom(client.watchClusters({ fieldSelector: 'metadata.name=alpha' }).pipe(take(1), toArray()));
    expect(initial.map((e) => `${e.type} ${objectOf(e).metadata?.name}`)).toEqual(['ADDED alpha']);

    // Once the log is pruned past a version, resuming from it is Expired (410).
    await pg.query(`DELETE FROM cluster_changes WHERE resource_version <= $1`, [objectOf(seen[1]!).metadata!.resourceVersion]);
    const expired = firstValueFrom(client.watchClusters({ resourceVersion: start }));
    expect(await reasonOf(expired)).toBe(ErrorReason.Gone);
    expect(await reasonOf(firstValueFrom(client.watchClusters({ resourceVersion: 'abc' })))).toBe(ErrorReason.BadRequest);
  });

  it('serves last probe times as status.lastProbeTime without storing, versioning or broadcasting them', async () => {
    await create(cluster('p1'));
    await create(cluster('p2'));
    const before = await client.getCluster('p1');
    const start = (await client.listClusters()).metadata.resourceVersion;
    const changes: string[] = [];
    const sub = client
      .watchClusters({ resourceVersion: start, fieldSelector: 'metadata.name=p1' })
      .subscribe({ next: (e) => void changes.push(`${e.type} ${objectOf(e).metadata?.labels?.marker ?? ''}`.trim()), error: () => undefined });
    const t1 = '2026-11-24T10:00:00.000Z';
    const t2 = '2026-11-24T10:00:10.000Z';
    const recorded = await client.recordProbeTimes([{ name: 'p1', time: t1 }, { name: 'p1', time: t2 }, { name: 'p2', time: t1 }, { name: 'no-such-cluster', time: t1 }]);
    expect(recorded).toBe(2); // the newest time per cluster; unknown names skipped
    const p1 = await client.getCluster('p1');
    expect(p1.status?.lastProbeTime).toBe(t2);
    expect(p1.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    const listed = await client.listClusters({ fieldSelector: 'metadata.name=p2' });
    expect(listed.items?.[0]?.status?.lastProbeTime).toBe(t1);
    // Not stored with the status: a status write carrying it neither stores it nor counts as a change.
    const written = await client.updateClusterStatus('p1', { ...p1.status, lastProbeTime: '2020-01-01T00:00:00Z' });
    expect(written.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    const { rows } = await pg.query(`SELECT status FROM clusters WHERE name = 'p1'`);
    expect(rows[0].status).not.toHaveProperty('lastProbeTime');
    expect((await client.getCluster('p1')).status?.lastProbeTime).toBe(t2);
    // Probe times are internal: the internal token is required, and bad entries are named.
    const anonymous = new RegistryClient(`127.0.0.1:${platform.ports.registryGrpc}`);
    expect(await reasonOf(anonymous.recordProbeTimes([{ name: 'p1', time: t1 }]))).toBe(ErrorReason.Unauthorized);
    anonymous.close();
    const bad = await client.recordProbeTimes([{ name: 'p1', time: 'yesterday' }]).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(FlotillaError);
    expect((bad as FlotillaError).reason).toBe(ErrorReason.BadRequest);
    expect(JSON.stringify((bad as FlotillaError).details)).toContain('entries[0].time');
    // A removed cluster's probe time goes with it; a new cluster of the same name starts without one.
    await client.deleteCluster('p2');
    await client.patchCluster('p2', PatchType.Merge, '{"metadata":{"finalizers":null}}');
    await create(cluster('p2'));
    expect((await client.getCluster('p2')).status?.lastProbeTime ?? '').toBe('');
    // A change of p1 made last: once the watch delivers it, everything before it has been delivered too.
    await client.patchCluster('p1', PatchType.Merge, '{"metadata":{"labels":{"marker":"last"}}}');
    await eventually(() => expect(changes).toContain('MODIFIED last'));
    sub.unsubscribe();
    expect(changes).toEqual(['MODIFIED last']); // recording probe times made no watch event
  });

  it('serves grpc.health.v1 and server reflection', async () => {
    const target = `127.0.0.1:${platform.ports.registryGrpc}`;
    expect(await grpcHealthCheck(target)).toBe('SERVING');
    expect(await grpcHealthCheck(target, 'no.such.Service')).toBe('SERVICE_UNKNOWN');
    expect(await grpcReflectionServices(target, platform.internalToken)).toEqual(
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
    // A call refused for want of the internal token is counted too (by the one caller check, before any handler).
    expect(metrics).toMatch(/flotilla_grpc_auth_refusals_total\{method="\/flotilla.registry.v1.RegistryService\/GetClusterCredentials",reason="missing_credentials",service="registry"\} [1-9]/);
  });
});
