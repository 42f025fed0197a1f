import { Client } from 'pg';
import { Observable, Subscription } from 'rxjs';
import { ClusterEvent, ErrorReason, FlotillaError } from '@flotilla/domain';
import { ClusterEventBatch, ClusterEventsClient } from '@flotilla/clients';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, eventually, preparePlatformEnv } from '@flotilla/testing';
import { startRegistry } from '../main';

const LIMIT = 2;
/** Far above every wait below: an event seen in time was pushed by NOTIFY, not found by the safety re-read. */
const NO_POLL_MS = 60_000;
const BASE = Date.now() - 600_000;
let n = 0;

const event = (cluster: string, message: string): ClusterEvent => {
  const i = ++n;
  return {
    name: `${cluster}.${(BASE + i).toString(16)}`,
    clusterName: cluster,
    clusterUid: '5f0c3d0e-0000-4000-8000-000000000002',
    type: 'Warning',
    reason: 'ClusterNotReachable',
    message,
    conditionType: 'Ready',
    fromStatus: 'True',
    toStatus: 'False',
    eventTime: new Date(BASE + i * 1000).toISOString(),
    reportingComponent: 'health-probe',
  };
};

/** Collects what a watch sends, and how it ended. */
function collect(watch: Observable<ClusterEventBatch>, subs: Subscription[]) {
  const got = { batches: [] as ClusterEventBatch[], error: undefined as unknown, completed: false };
  subs.push(watch.subscribe({ next: (b) => got.batches.push(b), error: (e: unknown) => (got.error = e), complete: () => (got.completed = true) }));
  return { got, messages: () => got.batches.flatMap((b) => b.events.map((e) => e.message)) };
}

describe('WatchClusterEvents: cluster events pushed as they are recorded (real Postgres, over gRPC)', () => {
  let platform: PlatformEnv;
  let running: RunningService;
  let recorder: ClusterEventsClient;
  let gateway: ClusterEventsClient;
  let probe: ClusterEventsClient;
  let pg: Client;
  const subs: Subscription[] = [];

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    ({ running } = await startRegistry({ ...platform.env('registry'), LOG_LEVEL: 'warn', WATCH_POLL_MS: String(NO_POLL_MS), FLOTILLA_MAX_WATCHES_PER_CALLER: String(LIMIT) }));
    const target = `127.0.0.1:${platform.ports.registryGrpc}`;
    recorder = new ClusterEventsClient(target, platform.internalToken);
    gateway = new ClusterEventsClient(target, platform.tokens.gateway);
    probe = new ClusterEventsClient(target, platform.tokens['health-probe']);
    pg = new Client({ connectionString: platform.db.url });
    await pg.connect();
  });

  afterEach(() => {
    for (const s of subs.splice(0)) s.unsubscribe();
  });

  afterAll(async () => {
    recorder?.close();
    gateway?.close();
    probe?.close();
    await running?.stop();
    await pg?.end();
    await platform?.cleanup();
  });

  it('a stream opened now receives an event recorded after it opened, and only its cluster\'s when it names one', async () => {
    await recorder.record(event('wa', 'before'));
    const all = collect(gateway.watch({ onBehalfOf: 'alice' }), subs);
    const onlyB = collect(gateway.watch({ clusterName: 'wb', onBehalfOf: 'bob' }), subs);
    // The first batch comes at once: the stream stands at its version (nothing from before it).
    await eventually(() => expect(all.got.batches.length).toBeGreaterThan(0));
    await eventually(() => expect(onlyB.got.batches.length).toBeGreaterThan(0));
    expect(all.messages()).toEqual([]);

    await recorder.record(event('wa', 'a-after'));
    await recorder.record(event('wb', 'b-after'));
    await eventually(() => expect(all.messages()).toEqual(['a-after', 'b-after']));
    await eventually(() => expect(onlyB.messages()).toEqual(['b-after']));
    const last = all.got.batches.flatMap((b) => b.events).pop()!;
    expect(last).toMatchObject({ clusterName: 'wb', reason: 'ClusterNotReachable', resourceVersion: expect.stringMatching(/^\d+$/) });
    // A retry of the same event is stored once and sent once.
    const retried = event('wa', 'a-again');
    await recorder.record(retried);
    await recorder.record(retried);
    await recorder.record(event('wa', 'a-last'));
    await eventually(() => expect(all.messages()).toEqual(['a-after', 'b-after', 'a-again', 'a-last']));
  });

  it('resumes from a list\'s version or an event\'s: the events recorded after it, none before', async () => {
    const listed = await gateway.listWithVersion('wr');
    await recorder.record(event('wr', 'r1'));
    await recorder.record(event('wr', 'r2'));
    const fromList = collect(gateway.watch({ since: listed.version, clusterName: 'wr' }), subs);
    await eventually(() => expect(fromList.messages()).toEqual(['r1', 'r2']));
    const r1 = fromList.got.batches.flatMap((b) => b.events).find((e) => e.message === 'r1')!;
    subs.splice(0).forEach((s) => s.unsubscribe());

    const fromEvent = collect(gateway.watch({ since: r1.resourceVersion, clusterName: 'wr' }), subs);
    await eventually(() => expect(fromEvent.messages()).toEqual(['r2']));
    await recorder.record(event('wr', 'r3'));
    await eventually(() => expect(fromEvent.messages()).toEqual(['r2', 'r3']));
    // The list answers the same events, and a version a watch starts from.
    const again = await gateway.listWithVersion('wr');
    expect(again.items.map((e) => e.message)).toEqual(['r3', 'r2', 'r1']);
    expect(BigInt(again.version)).toBeGreaterThanOrEqual(BigInt(again.items[0]!.resourceVersion!));
  });

  it('answers Gone for a version older than what retention kept, and Timeout for one ahead of the store', async () => {
    const first = await recorder.record(event('wg', 'g1'));
    await recorder.record(event('wg', 'g2'));
    // Retention pruned everything up to g1 (as pruneExpired would have).
    await pg.query('DELETE FROM cluster_events WHERE id <= $1', [first.resourceVersion]);
    const before = (BigInt(first.resourceVersion!) - 1n).toString();
    const gone = collect(gateway.watch({ since: before }), subs);
    await eventually(() => expect(gone.got.error).toBeInstanceOf(FlotillaError));
    expect(gone.got.error).toMatchObject({ reason: ErrorReason.Gone });
    expect((gone.got.error as Error).message).toMatch(/too old resource version/);

    const ahead = collect(gateway.watch({ since: '99999999999' }), subs);
    await eventually(() => expect(ahead.got.error).toMatchObject({ reason: ErrorReason.Timeout }));
    const forged = collect(gateway.watch({ since: 'c1.o2' }), subs);
    await eventually(() => expect(forged.got.error).toMatchObject({ reason: ErrorReason.BadRequest }));
    expect((forged.got.error as Error).message).toMatch(/since/);
  });

  it('bounds streams per caller (the gateway\'s per user it names), and only the gateway may watch', async () => {
    const held = [collect(gateway.watch({ onBehalfOf: 'carol' }), subs), collect(gateway.watch({ onBehalfOf: 'carol' }), subs)];
    await eventually(() => expect(held.every((h) => h.got.batches.length > 0)).toBe(true));
    const refused = collect(gateway.watch({ onBehalfOf: 'carol' }), subs);
    await eventually(() => expect(refused.got.error).toMatchObject({ reason: ErrorReason.TooManyRequests }));
    expect((refused.got.error as Error).message).toMatch(/FLOTILLA_MAX_WATCHES_PER_CALLER=2/);
    // Another user is counted apart; closing one frees carol's slot.
    const dave = collect(gateway.watch({ onBehalfOf: 'dave' }), subs);
    await eventually(() => expect(dave.got.batches.length).toBeGreaterThan(0));
    subs[0]!.unsubscribe();
    await eventually(async () => {
      const next = collect(gateway.watch({ onBehalfOf: 'carol' }), subs);
      await eventually(() => expect(next.got.batches.length + (next.got.error ? 1 : 0)).toBeGreaterThan(0));
      expect(next.got.error).toBeUndefined();
    });

    const denied = collect(probe.watch({}), subs);
    await eventually(() => expect(denied.got.error).toMatchObject({ reason: ErrorReason.Forbidden }));
  });
});
