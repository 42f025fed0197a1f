import { Client } from 'pg';
import { firstValueFrom, take, toArray } from 'rxjs';
import { Cluster, ClusterStatus, ErrorReason, FlotillaError } from '@flotilla/domain';
import { RegistryClient, StatusWriteResult } from '@flotilla/clients';
import { PlatformEnv, preparePlatformEnv, reasonOf } from '@flotilla/testing';
import { TestRegistry, directCluster, startTestRegistry, tokenKubeconfig } from '../testing/registry-harness';

const KUBECONFIG = tokenKubeconfig('batch-token');

const cluster = (name: string): Cluster => directCluster(name, KUBECONFIG);

const ready = (version: string): ClusterStatus => ({
  conditions: [{ type: 'Ready', status: 'True', reason: 'ClusterReady' }],
  kubernetesVersion: version,
  nodeCount: 3,
});

const storedOf = (r: StatusWriteResult | undefined): Cluster => {
  if (!r || 'error' in r) throw new Error(`expected a stored cluster, got ${r && 'error' in r ? r.error.message : 'nothing'}`);
  return r.cluster;
};
const reasonIn = (r: StatusWriteResult | undefined) => (r && 'error' in r && r.error instanceof FlotillaError ? r.error.reason : undefined);

describe('UpdateClusterStatuses: many status writes in one transaction (real Postgres, over gRPC)', () => {
  let registry: TestRegistry<PlatformEnv>;
  let client: RegistryClient;
  let pg: Client;

  beforeAll(async () => {
    registry = await startTestRegistry(preparePlatformEnv);
    ({ client, pg } = registry);
    for (const name of ['s1', 's2', 's3', 's4']) await client.createCluster(cluster(name));
    for (let i = 0; i < 40; i++) await client.createCluster(cluster(`c${String(i).padStart(2, '0')}`));
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('answers each write in order: the good ones stored, the others refused on their own with their reason', async () => {
    const s2 = await client.getCluster('s2');
    const s3 = await client.getCluster('s3');
    const results = await client.updateClusterStatuses([
      { name: 's1', status: ready('v1.30.1') },
      { name: 'missing', status: ready('v1.30.1') },
      { name: 's2', status: ready('v1.30.1'), resourceVersion: '1' },
      { name: 's3', status: { conditions: [{ type: 'Ready', status: 'Maybe' as 'True' }] } },
      { name: 's1', status: ready('v1.30.9') },
      { name: 's4', status: ready('v1.30.4') },
    ]);
    expect(results.map((r) => r.name)).toEqual(['s1', 'missing', 's2', 's3', 's1', 's4']);
    expect(storedOf(results[0]).status?.kubernetesVersion).toBe('v1.30.1');
    expect(reasonIn(results[1])).toBe(ErrorReason.NotFound);
    expect(reasonIn(results[2])).toBe(ErrorReason.Conflict);
    expect(reasonIn(results[3])).toBe(ErrorReason.Invalid);
    expect(results[3] && 'error' in results[3] ? results[3].error.message : '').toContain('status.conditions[0].status');
    // One write per cluster a call: the second write of s1 is refused, the first stands.
    expect(reasonIn(results[4])).toBe(ErrorReason.Invalid);
    expect(storedOf(results[5]).status?.kubernetesVersion).toBe('v1.30.4');

    expect((await client.getCluster('s1')).status?.kubernetesVersion).toBe('v1.30.1');
    expect((await client.getCluster('s4')).status?.kubernetesVersion).toBe('v1.30.4');
    // Refused writes changed nothing.
    expect((await client.getCluster('s2')).metadata.resourceVersion).toBe(s2.metadata.resourceVersion);
    expect((await client.getCluster('s3')).metadata.resourceVersion).toBe(s3.metadata.resourceVersion);
  });

  it('gives every changed cluster its own resourceVersion, logged and watched in order; an unchanged status writes nothing', async () => {
    const names = ['c00', 'c01', 'c02'];
    const from = (await client.listClusters({ limit: 1 })).metadata.resourceVersion;
    const watched = firstValueFrom(client.watchClusters({ resourceVersion: from }).pipe(take(3), toArray()));
    const results = await client.updateClusterStatuses(names.map((name) => ({ name, status: ready('v1.31.0') })));
    const versions = results.map((r) => storedOf(r).metadata.resourceVersion!);
    expect(new Set(versions).size).toBe(3);
    const events = await watched;
    expect(events.map((e) => (e.type === 'BOOKMARK' ? 'BOOKMARK' : `${e.type} ${e.object.metadata.name} ${e.object.status?.kubernetesVersion}`))).toEqual(
      names.map((n) => `MODIFIED ${n} v1.31.0`),
    );
    expect(events.map((e) => (e.type === 'BOOKMARK' ? e.resourceVersion : e.object.metadata.resourceVersion))).toEqual(versions);
    const { rows } = await pg.query<{ n: string }>(`SELECT count(*) AS n FROM cluster_changes WHERE resource_version = ANY($1::bigint[]) AND type = 'MODIFIED'`, [versions]);
    expect(rows[0]!.n).toBe('3');

    const again = await client.updateClusterStatuses(names.map((name) => ({ name, status: ready('v1.31.0') })));
    expect(again.map((r) => storedOf(r).metadata.resourceVersion)).toEqual(versions);
    const after = await pg.query<{ n: string }>(`SELECT count(*) AS n FROM cluster_changes WHERE name = ANY($1::text[])`, [names]);
    expect(after.rows[0]!.n).toBe(String(names.length * 2)); // each: ADDED at create, MODIFIED once
  });

  it('takes concurrent batches over the same clusters, in any order, without a deadlock or a lost write', async () => {
    const names = Array.from({ length: 30 }, (_, i) => `c${String(i + 10).padStart(2, '0')}`);
    const shuffled = (seed: number) => [...names].sort((a, b) => ((a.charCodeAt(2) * seed) % 7) - ((b.charCodeAt(2) * seed) % 7) || a.localeCompare(b) * (seed % 2 ? 1 : -1));
    const batches = [1, 2, 3, 4, 5, 6].map((seed) => client.updateClusterStatuses(shuffled(seed).map((name) => ({ name, status: ready(`v1.32.${seed}`) }))));
    const answered = await Promise.all(batches);
    for (const results of answered) for (const r of results) expect('error' in r ? r.error.message : 'stored').toBe('stored');
    // Each cluster shows the last write it took, and every write it took has its own resourceVersion in the log.
    const { rows } = await pg.query<{ name: string; n: string; distinct_rvs: string }>(
      `SELECT name, count(*) AS n, count(DISTINCT resource_version) AS distinct_rvs FROM cluster_changes WHERE name = ANY($1::text[]) AND type = 'MODIFIED' GROUP BY name`,
      [names],
    );
    expect(rows).toHaveLength(names.length);
    for (const r of rows) expect(r.n).toBe(r.distinct_rvs);
    for (const name of names) {
      const stored = await client.getCluster(name);
      const last = (await pg.query<{ object: Cluster }>(`SELECT object FROM cluster_changes WHERE name = $1 ORDER BY resource_version DESC LIMIT 1`, [name])).rows[0]!.object;
      expect(stored.status?.kubernetesVersion).toBe(last.status?.kubernetesVersion);
      expect(stored.metadata.resourceVersion).toBe(last.metadata.resourceVersion);
    }
  });

  it('refuses more than 500 writes in one call with BadRequest, writing none of them', async () => {
    const before = (await client.getCluster('c05')).metadata.resourceVersion;
    const writes = Array.from({ length: 501 }, (_, i) => ({ name: i === 0 ? 'c05' : `n${i}`, status: ready('v1.33.0') }));
    expect(await reasonOf(client.updateClusterStatuses(writes))).toBe(ErrorReason.BadRequest);
    expect((await client.getCluster('c05')).metadata.resourceVersion).toBe(before);
  });
});
