import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { AuditClient } from '@flotilla/clients';
import type { AuditEvent } from '@flotilla/clients';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, preparePlatformEnv, reasonOf } from '@flotilla/testing';
import { PruneScheduler } from '../infrastructure/prune-scheduler';
import { startRegistry } from '../main';

const BASE = Date.parse('2026-11-20T10:00:00Z');
/** Stage timestamps with microseconds, as the Kubernetes API server writes them. */
const at = (second: number, micros = 0) => new Date(BASE + second * 1000).toISOString().replace(/\.\d{3}Z$/, `.${String(micros).padStart(6, '0')}Z`);

function event(i: number, over: Partial<AuditEvent> & { cluster?: string; code?: number } = {}): AuditEvent {
  const { cluster, code, ...rest } = over;
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: randomUUID(),
    stage: 'ResponseComplete',
    requestURI: `/apis/iam.kubesphere.io/v1beta1/users/u${i}`,
    verb: 'get',
    user: { username: 'alice', groups: ['system:authenticated'] },
    stageTimestamp: at(i),
    requestReceivedTimestamp: at(i),
    responseStatus: { metadata: {}, code: code ?? 200 },
    ...(cluster ? { annotations: { 'flotilla.io/cluster': cluster } } : {}),
    ...rest,
  };
}

async function errorOf(p: Promise<unknown>): Promise<FlotillaError> {
  try {
    await p;
  } catch (error) {
    if (error instanceof FlotillaError) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('the audit store in the registry (real Postgres, over gRPC)', () => {
  let platform: PlatformEnv;
  let running: RunningService;
  let gateway: AuditClient;
  let importer: AuditClient;
  let pg: Client;

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    ({ running } = await startRegistry(platform.env('registry')));
    gateway = new AuditClient(`127.0.0.1:${platform.ports.registryGrpc}`, platform.tokens.gateway);
    importer = new AuditClient(`127.0.0.1:${platform.ports.registryGrpc}`, platform.tokens['provider-import']);
    pg = new Client({ connectionString: platform.db.url });
    await pg.connect();
  });

  afterAll(async () => {
    gateway?.close();
    importer?.close();
    await running?.stop();
    await pg?.end();
    await platform?.cleanup();
  });

  beforeEach(async () => {
    await pg.query('DELETE FROM audit_events');
  });

  it('appends a batch once: a retried batch (or a repeated auditID) is stored once', async () => {
    const batch = [event(1), event(2, { cluster: 'member-1' }), event(3, { verb: 'delete', code: 403 })];
    expect(await gateway.appendCounting(batch)).toBe(3);
    expect(await gateway.appendCounting(batch)).toBe(0);
    await gateway.append([batch[0]!, event(4), batch[0]!]);
    const { items } = await gateway.query({});
    expect(items.map((e) => e.auditID)).toEqual([expect.any(String), batch[2]!.auditID, batch[1]!.auditID, batch[0]!.auditID]);
    expect(items[2]).toEqual(batch[1]);
    const { rows } = await pg.query(`SELECT cluster, code FROM audit_events WHERE audit_id = $1`, [batch[2]!.auditID]);
    expect(rows).toEqual([{ cluster: null, code: 403 }]);
    await gateway.append([]);
  });

  it('is all or nothing: one invalid event refuses the batch, naming it', async () => {
    const good = event(1);
    const bad = { ...event(2), auditID: '' } as AuditEvent;
    const error = await errorOf(gateway.append([good, bad, { ...event(3), stageTimestamp: 'yesterday' }]));
    expect(error.reason).toBe(ErrorReason.Invalid);
    expect(error.details.causes?.map((c) => c.field)).toEqual(['events[1].auditID', 'events[2].stageTimestamp']);
    expect((await gateway.query({})).items).toEqual([]);
    expect(await reasonOf(gateway.append([{ ...event(4), user: {} } as AuditEvent]))).toBe(ErrorReason.Invalid);
    expect(await reasonOf(gateway.append([event(5, { annotations: { 'flotilla.io/cluster': 7 as unknown as string } })]))).toBe(ErrorReason.Invalid);
    expect(await reasonOf(gateway.append([event(6, { requestObject: { blob: 'x'.repeat(1024 * 1024) } })]))).toBe(ErrorReason.Invalid);
  });

  it('filters by user, cluster, verb and time, newest first', async () => {
    await gateway.append([
      event(1),
      event(2, { user: { username: 'bob' }, cluster: 'member-1' }),
      event(3, { verb: 'create', cluster: 'member-1' }),
      event(4, { verb: 'create', cluster: 'member-2' }),
      event(5, { user: { username: 'bob' }, verb: 'list' }),
    ]);
    const seconds = async (q: Parameters<AuditClient['query']>[0]) => (await gateway.query(q)).items.map((e) => Date.parse(e.stageTimestamp) / 1000 - BASE / 1000);
    expect(await seconds({})).toEqual([5, 4, 3, 2, 1]);
    expect(await seconds({ user: 'bob' })).toEqual([5, 2]);
    expect(await seconds({ cluster: 'member-1' })).toEqual([3, 2]);
    expect(await seconds({ verb: 'create' })).toEqual([4, 3]);
    expect(await seconds({ verb: 'create', cluster: 'member-2' })).toEqual([4]);
    expect(await seconds({ since: at(2), until: at(4) })).toEqual([3, 2]);
    expect(await seconds({ user: 'nobody' })).toEqual([]);
    expect(await reasonOf(gateway.query({ since: 'last week' }))).toBe(ErrorReason.BadRequest);
    expect(await reasonOf(gateway.query({ continue: 'bogus' }))).toBe(ErrorReason.BadRequest);
  });

  it('pages with a keyset continue token, without losing or repeating events that share a timestamp', async () => {
    const events: AuditEvent[] = [];
    // Three events per second, some a microsecond apart: the token keeps Postgres' precision.
    for (let s = 0; s < 5; s++) events.push(event(s), event(s), event(s, { stageTimestamp: at(s, 1) }));
    await gateway.append(events);
    const seen: string[] = [];
    let page = await gateway.query({ limit: 4 });
    let pages = 1;
    while (page.continue) {
      expect(page.items).toHaveLength(4);
      seen.push(...page.items.map((e) => e.auditID));
      page = await gateway.query({ limit: 4, continue: page.continue });
      pages++;
    }
    seen.push(...page.items.map((e) => e.auditID));
    expect(pages).toBe(4);
    expect(new Set(seen).size).toBe(15);
    const all = (await gateway.query({ limit: 1000 })).items.map((e) => e.auditID);
    expect(seen).toEqual(all);
    expect((await gateway.query({ limit: 5000 })).items).toHaveLength(15);
  });

  it('deletes events older than FLOTILLA_AUDIT_RETENTION_DAYS on the prune timer', async () => {
    const old = event(0, { stageTimestamp: new Date(Date.now() - 31 * 24 * 3600 * 1000).toISOString() });
    const recent = event(0, { stageTimestamp: new Date(Date.now() - 29 * 24 * 3600 * 1000).toISOString() });
    await gateway.append([old, recent]);
    await running.app.get(PruneScheduler).runAll();
    expect((await gateway.query({})).items.map((e) => e.auditID)).toEqual([recent.auditID]);
  });

  it('answers the gateway only', async () => {
    expect(await reasonOf(importer.append([event(1)]))).toBe(ErrorReason.Forbidden);
    expect(await reasonOf(importer.query({}))).toBe(ErrorReason.Forbidden);
  });
});
