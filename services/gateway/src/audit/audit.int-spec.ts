import { Registry } from 'prom-client';
import { AuditClient, type AuditEvent, type AuditStore } from '@flotilla/clients';
import { ErrorReason, FlotillaError, type Principal } from '@flotilla/domain';
import { createLogger } from '@flotilla/observability';
import { PlatformEnv, SourceProcess, eventually, preparePlatformEnv, startSourceProcess } from '@flotilla/testing';
import { AuditQueryService } from './audit-query.service';
import { AuditRecorder } from './audit-recorder';

/** The real AuditClient, counting the batches the recorder hands it. */
class CountingStore implements AuditStore {
  readonly batchSizes: number[] = [];
  constructor(private readonly inner: AuditStore) {}
  async append(events: AuditEvent[]): Promise<void> {
    await this.inner.append(events);
    this.batchSizes.push(events.length);
  }
  query(q: Parameters<AuditStore['query']>[0]) {
    return this.inner.query(q);
  }
}

const alice: Principal = { user: 'alice', groups: ['dev'], tokenId: 'tkalice0001', via: 'token' };
const bob: Principal = { user: 'oidc:bob@example.com', groups: ['oidc:ops'], via: 'oidc' };

/** Waits (without sleeping a fixed time) until the clock has moved past `t`, so stage timestamps differ. */
const after = (t: number) => eventually(() => expect(Date.now()).toBeGreaterThan(t), { intervalMs: 1 });

describe('audit: recorder and query against the real registry (Postgres, gRPC)', () => {
  let platform: PlatformEnv;
  let registry: SourceProcess;
  let client: AuditClient;
  let store: CountingStore;
  let recorder: AuditRecorder;
  let api: AuditQueryService;
  let metrics: Registry;

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    client = new AuditClient(`127.0.0.1:${platform.ports.registryGrpc}`, platform.tokens.gateway, 2000);
    store = new CountingStore(client);
    metrics = new Registry();
    recorder = new AuditRecorder(store, { level: 'All', bufferSize: 1000, batchSize: 50, flushIntervalMs: 100, maxBackoffMs: 200, logger: createLogger('test', 'silent'), metrics });
    api = new AuditQueryService(client);
  });

  afterAll(async () => {
    await recorder?.close(2000);
    client?.close();
    await registry?.stop();
    await platform?.cleanup();
  });

  it('stores what is recorded, in batches, and the query filters it', async () => {
    const t0 = Date.now();
    for (let i = 0; i < 120; i++) {
      await recorder.record({ principal: alice, verb: i % 2 ? 'get' : 'create', requestURI: `/apis/x.io/v1/things/a${i}`, code: 200, startedAt: new Date(), cluster: i % 3 ? undefined : 'prod-eu' });
    }
    await after(Date.now());
    const middle = new Date().toISOString();
    await after(Date.now());
    for (let i = 0; i < 5; i++) {
      await recorder.record({ principal: bob, verb: 'delete', requestURI: `/api/v1/namespaces/web/pods/p${i}?access_token=SECRET`, code: 403, startedAt: new Date(), cluster: 'prod-us' });
    }
    await eventually(async () => expect((await api.list({ limit: '1000' })).items).toHaveLength(125));
    // Full batches went at once; the remainders on the 100 ms tick.
    expect(store.batchSizes.slice(0, 2)).toEqual([50, 50]);
    expect(store.batchSizes.reduce((a, b) => a + b, 0)).toBe(125);

    const all = await api.list({});
    expect(all).toMatchObject({ apiVersion: 'audit.flotilla.io/v1alpha1', kind: 'EventList' });
    expect(all.items[0]).toMatchObject({ kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', stage: 'ResponseComplete', user: { username: 'oidc:bob@example.com' } });
    expect(JSON.stringify(all.items)).not.toContain('SECRET');

    const bobs = await api.list({ user: 'oidc:bob@example.com' });
    // Newest first (microsecond stage timestamps keep the order of events of one millisecond).
    expect(bobs.items.map((e) => e.requestURI)).toEqual([4, 3, 2, 1, 0].map((i) => `/api/v1/namespaces/web/pods/p${i}`));
    const stamps = all.items.map((e) => e.stageTimestamp);
    expect([...stamps].sort().reverse()).toEqual(stamps);
    expect((await api.list({ cluster: 'prod-eu' })).items).toHaveLength(40);
    expect((await api.list({ verb: 'create', user: 'alice' })).items).toHaveLength(60);
    expect((await api.list({ since: middle })).items).toHaveLength(5);
    expect((await api.list({ until: middle, since: new Date(t0 - 1000).toISOString() })).items).toHaveLength(120);
    expect((await api.list({ user: 'nobody' })).items).toEqual([]);
    const extra = (all.items.find((e) => e.user.username === 'alice') as AuditEvent).user.extra;
    expect(extra).toEqual({ 'flotilla.io/token-id': ['tkalice0001'] });
  });

  it('pages newest first with limit and continue', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await api.list({ user: 'alice', limit: '25', ...(token ? { continue: token } : {}) });
      seen.push(...page.items.map((e) => e.auditID));
      token = page.metadata.continue;
      pages++;
    } while (token);
    expect(pages).toBe(5);
    expect(new Set(seen).size).toBe(120);
  });

  it('refuses bad parameters with a 400 naming them, before asking the registry', async () => {
    for (const [field, query] of [
      ['since', { since: 'last week' }],
      ['limit', { limit: '5000' }],
    ] as const) {
      const error = await api.list(query).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(FlotillaError);
      expect((error as FlotillaError).reason).toBe(ErrorReason.BadRequest);
      expect((error as FlotillaError).details.causes?.[0]?.field).toBe(field);
    }
  });

  it('holds writes while the registry is down and stores them when it is back', async () => {
    await registry.stop();
    await recorder.record({ principal: alice, verb: 'patch', requestURI: '/apis/x.io/v1/things/during-outage', code: 200, startedAt: new Date() });
    await eventually(async () => expect((await metrics.getSingleMetric('flotilla_audit_store_failures_total')!.get()).values[0]!.value).toBeGreaterThan(0));
    expect(recorder.size).toBe(1);
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    await eventually(async () => expect((await api.list({ verb: 'patch' })).items.map((e) => e.requestURI)).toEqual(['/apis/x.io/v1/things/during-outage']), { timeoutMs: 30_000 });
    expect(recorder.size).toBe(0);
  });
});
