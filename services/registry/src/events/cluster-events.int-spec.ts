import { Client } from 'pg';
import { CLUSTER_EVENTS_PER_CLUSTER, ClusterEvent, ErrorReason } from '@flotilla/domain';
import { ClusterEventsClient } from '@flotilla/clients';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, preparePlatformEnv, reasonOf } from '@flotilla/testing';
import { startRegistry } from '../main';

const BASE = Date.now() - 3600_000;
const event = (cluster: string, i: number, over: Partial<ClusterEvent> = {}): ClusterEvent => ({
  name: `${cluster}.${(BASE + i).toString(16)}`,
  clusterName: cluster,
  clusterUid: '5f0c3d0e-0000-4000-8000-000000000001',
  type: i % 2 ? 'Normal' : 'Warning',
  reason: i % 2 ? 'ClusterReady' : 'ClusterNotReachable',
  message: `transition ${i}`,
  conditionType: 'Ready',
  fromStatus: i % 2 ? 'False' : 'True',
  toStatus: i % 2 ? 'True' : 'False',
  eventTime: new Date(BASE + i * 1000).toISOString(),
  reportingComponent: 'health-probe',
  ...over,
});

describe('cluster events in the registry (real Postgres, over gRPC)', () => {
  let platform: PlatformEnv;
  let running: RunningService;
  let internal: ClusterEventsClient;
  let anonymous: ClusterEventsClient;
  let gateway: ClusterEventsClient;
  let pg: Client;

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    ({ running } = await startRegistry(platform.env('registry')));
    internal = new ClusterEventsClient(`127.0.0.1:${platform.ports.registryGrpc}`, platform.internalToken);
    anonymous = new ClusterEventsClient(`127.0.0.1:${platform.ports.registryGrpc}`);
    // Lists are read by the gateway (the REST API): every call needs an internal identity now.
    gateway = new ClusterEventsClient(`127.0.0.1:${platform.ports.registryGrpc}`, platform.tokens.gateway);
    pg = new Client({ connectionString: platform.db.url });
    await pg.connect();
  });

  afterAll(async () => {
    internal?.close();
    anonymous?.close();
    gateway?.close();
    await running?.stop();
    await pg?.end();
    await platform?.cleanup();
  });

  it('records an event once (a retry is a no-op) and lists a cluster\'s events newest first', async () => {
    const first = await internal.record(event('ev-a', 0));
    expect(first.resourceVersion).toMatch(/^\d+$/);
    const again = await internal.record(event('ev-a', 0));
    expect(again.resourceVersion).toBe(first.resourceVersion);
    await internal.record(event('ev-a', 1));
    await internal.record(event('ev-b', 2));
    const listed = await gateway.list('ev-a');
    expect(listed.map((e) => [e.reason, e.toStatus])).toEqual([
      ['ClusterReady', 'True'],
      ['ClusterNotReachable', 'False'],
    ]);
    expect(await gateway.list('ev-b')).toHaveLength(1);
    expect(await gateway.list('ev-a', 1)).toHaveLength(1);
  });

  it('needs the internal token to record, and refuses invalid events', async () => {
    expect(await reasonOf(anonymous.record(event('ev-c', 0)))).toBe(ErrorReason.Unauthorized);
    expect(await reasonOf(internal.record(event('ev-c', 0, { toStatus: 'Maybe' })))).toBe(ErrorReason.Invalid);
    expect(await reasonOf(internal.record(event('ev-c', 0, { name: 'other.1' })))).toBe(ErrorReason.Invalid);
  });

  it('keeps retention bounded: the newest per cluster, and nothing older than the retention age', async () => {
    for (let i = 0; i < CLUSTER_EVENTS_PER_CLUSTER + 15; i++) await internal.record(event('ev-many', i));
    const { rows } = await pg.query<{ n: string }>(`SELECT count(*) AS n FROM cluster_events WHERE cluster_name = 'ev-many'`);
    expect(Number(rows[0].n)).toBe(CLUSTER_EVENTS_PER_CLUSTER);
    const newest = await internal.list('ev-many', 1);
    expect(newest[0].message).toBe(`transition ${CLUSTER_EVENTS_PER_CLUSTER + 14}`);
    await internal.record(event('ev-old', 0, { eventTime: new Date(Date.now() - 30 * 24 * 3600 * 1000).toISOString() }));
    await internal.record(event('ev-new', 0, { eventTime: new Date().toISOString() }));
    expect(await internal.list('ev-old')).toEqual([]);
  });
});
