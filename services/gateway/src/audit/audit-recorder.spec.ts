import express from 'express';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Registry } from 'prom-client';
import type { AuditEvent, AuditQuery, AuditStore } from '@flotilla/clients';
import { ErrorReason, FlotillaError, type Principal } from '@flotilla/domain';
import { createLogger } from '@flotilla/observability';
import { eventually } from '@flotilla/testing';
import { setPrincipal } from '../auth/principal';
import type { AuditLevel } from './audit-config';
import type { AuditRecord } from './audit-event';
import { AuditRecorder } from './audit-recorder';
import type { AuditSink } from './audit-sink';

/**
 * A stand-in for the registry's AuditStore that a test can hold (append waits) or break (append
 * fails): the unit under test is the recorder's buffer policy. The real store is exercised in
 * audit.int-spec.ts.
 */
class ControlledStore implements AuditStore {
  readonly batches: AuditEvent[][] = [];
  failures: FlotillaError[] = [];
  private held?: { promise: Promise<void>; release(): void };

  hold(): void {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.held = { promise, release };
  }
  release(): void {
    const held = this.held;
    this.held = undefined;
    held?.release();
  }
  get events(): AuditEvent[] {
    return this.batches.flat();
  }
  async append(events: AuditEvent[]): Promise<void> {
    if (this.held) await this.held.promise;
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.batches.push([...events]);
  }
  async query(_q: AuditQuery): Promise<{ items: AuditEvent[] }> {
    return { items: [] };
  }
}

class MemorySink implements AuditSink {
  readonly written: AuditEvent[] = [];
  write(events: readonly AuditEvent[]): void {
    this.written.push(...events);
  }
  async close(): Promise<void> {}
}

const alice: Principal = { user: 'alice', groups: [], tokenId: 't1', via: 'token' };
const write = (n: number): AuditRecord => ({ principal: alice, verb: 'create', requestURI: `/w/${n}`, code: 201, startedAt: new Date() });
const read = (n: number): AuditRecord => ({ principal: alice, verb: 'get', requestURI: `/r/${n}`, code: 200, startedAt: new Date() });

describe('AuditRecorder', () => {
  let store: ControlledStore;
  let metrics: Registry;
  let sink: MemorySink;
  const recorders: AuditRecorder[] = [];

  /** Each recorder gets its own metrics registry (one recorder per process in the gateway); `metric` reads the newest. */
  function recorder(options: { level?: AuditLevel; bufferSize?: number; batchSize?: number; flushIntervalMs?: number } = {}) {
    metrics = new Registry();
    const r = new AuditRecorder(store, {
      level: options.level ?? 'All',
      bufferSize: options.bufferSize ?? 100,
      batchSize: options.batchSize ?? 200,
      flushIntervalMs: options.flushIntervalMs ?? 60_000,
      maxBackoffMs: 50,
      sink,
      logger: createLogger('test', 'silent'),
      metrics,
    });
    recorders.push(r);
    return r;
  }

  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const values = (await metrics.getSingleMetric(name)!.get()).values;
    return values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
  };

  beforeEach(() => {
    store = new ControlledStore();
    metrics = new Registry();
    sink = new MemorySink();
  });

  afterEach(async () => {
    store.release();
    for (const r of recorders.splice(0)) await r.close(1000);
  });

  it('stores events in batches: on the interval, or at once when a batch is full', async () => {
    const timed = recorder({ flushIntervalMs: 20 });
    await timed.record(write(1));
    await timed.record(read(2));
    await eventually(() => expect(store.events.map((e) => e.requestURI)).toEqual(['/w/1', '/r/2']));
    expect(store.batches).toHaveLength(1);
    await timed.close(1000);

    const full = recorder({ batchSize: 5 });
    for (let i = 0; i < 12; i++) await full.record(write(i));
    // Two full batches go without waiting for the (one minute) interval; the remainder waits.
    await eventually(() => expect(store.batches.slice(1).map((b) => b.length)).toEqual([5, 5]));
    await full.flush();
    expect(store.batches.slice(1).map((b) => b.length)).toEqual([5, 5, 2]);
    expect(await metric('flotilla_audit_stored_total')).toBe(12);
  });

  it('records by level: All, Writes (no reads), None', async () => {
    for (const level of ['All', 'Writes', 'None'] as const) {
      const r = recorder({ level });
      await r.record({ ...write(1), requestURI: `/${level}/w` });
      await r.record({ ...read(1), requestURI: `/${level}/r` });
      await r.record({ ...read(1), verb: 'watch', requestURI: `/${level}/watch` });
      await r.flush();
    }
    expect(store.events.map((e) => e.requestURI)).toEqual(['/All/w', '/All/r', '/All/watch', '/Writes/w']);
  });

  it('when full: drops and counts reads, makes writes wait, and loses no write', async () => {
    const r = recorder({ bufferSize: 4, batchSize: 2 });
    store.hold(); // the registry is slow: nothing leaves the buffer
    for (let i = 0; i < 4; i++) await r.record(write(i));
    expect(r.size).toBe(4);

    await r.record(read(100)); // resolves at once: dropped
    await r.record({ ...write(101), principal: undefined }); // nobody authenticated it: never allowed to stall writers
    expect(await metric('flotilla_audit_dropped_total', { reason: 'buffer_full' })).toBe(2);

    let waited = false;
    const pending = r.record(write(102)).then(() => (waited = true));
    const room = r.room();
    await new Promise((resolve) => setImmediate(resolve));
    expect(waited).toBe(false);
    expect(await metric('flotilla_audit_waiting_writes')).toBe(2);

    store.release();
    await pending;
    await room;
    await r.flush();
    expect(store.events.map((e) => e.requestURI)).toEqual(['/w/0', '/w/1', '/w/2', '/w/3', '/w/102']);
    expect(await metric('flotilla_audit_dropped_total', { reason: 'buffer_full' })).toBe(2);
    expect(await metric('flotilla_audit_buffered')).toBe(0);
  });

  it('holds events while the registry is unavailable, retrying with backoff; the sink gets each once', async () => {
    const r = recorder();
    const unavailable = () => new FlotillaError(ErrorReason.ServiceUnavailable, 'registry unavailable');
    store.failures = [unavailable(), unavailable(), unavailable()];
    await r.record(write(1));
    await r.record(write(2));
    await r.flush();
    expect(store.events.map((e) => e.requestURI)).toEqual(['/w/1', '/w/2']);
    expect(await metric('flotilla_audit_store_failures_total')).toBe(3);
    expect(sink.written.map((e) => e.requestURI)).toEqual(['/w/1', '/w/2']);
  });

  it('drops (and counts) a batch the registry refuses as malformed instead of retrying it forever', async () => {
    const r = recorder();
    store.failures = [new FlotillaError(ErrorReason.Invalid, 'bad event')];
    await r.record(write(1));
    await r.flush();
    await r.record(write(2));
    await r.flush();
    expect(store.events.map((e) => e.requestURI)).toEqual(['/w/2']);
    expect(await metric('flotilla_audit_dropped_total', { reason: 'rejected' })).toBe(1);
  });

  it('flushes at shutdown; gives up at the deadline when the registry stays down, counting the loss', async () => {
    const r = recorder();
    await r.record(write(1));
    await r.close(1000);
    expect(store.events.map((e) => e.requestURI)).toEqual(['/w/1']);
    await r.record(write(2)); // after close: counted, not held
    expect(await metric('flotilla_audit_dropped_total', { reason: 'shutdown' })).toBe(1);

    const down = recorder();
    store.failures = Array.from({ length: 1000 }, () => new FlotillaError(ErrorReason.ServiceUnavailable, 'down'));
    await down.record(write(3));
    await down.record(write(4));
    const started = Date.now();
    await down.close(300);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await metric('flotilla_audit_dropped_total', { reason: 'shutdown' })).toBe(2);
    expect(sink.written.map((e) => e.requestURI)).toEqual(['/w/1', '/w/3', '/w/4']);
  });

  describe('middleware', () => {
    let server: Server;
    let base: string;
    let handled: string[];
    let r: AuditRecorder;

    beforeEach(async () => {
      handled = [];
      r = recorder({ bufferSize: 2, batchSize: 100 });
      const app = express();
      app.use((req, res, next) => {
        res.setHeader('X-Request-Id', 'rid-1');
        if (req.headers.authorization) setPrincipal(req, alice);
        next();
      });
      app.use(r.middleware());
      app.all(/.*/, (req, res) => {
        handled.push(`${req.method} ${req.path}`);
        res.status(req.method === 'POST' ? 201 : 200).send('ok');
      });
      server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterEach(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    const auth = { authorization: 'Bearer x', 'user-agent': 'kubectl/v1.33.9' };

    it('records Flotilla API requests with their verb and outcome, and leaves probes, docs and the proxy alone', async () => {
      await fetch(`${base}/apis/cluster.kubesphere.io/v1alpha1/clusters/m1?access_token=SECRET`, { method: 'DELETE', headers: auth });
      for (const path of ['/healthz', '/metrics', '/docs/swagger-ui.css', '/apis/cluster.kubesphere.io/v1alpha1/clusters/m1/proxy/api/v1/pods', '/clusters/m1/proxy/api']) {
        await fetch(`${base}${path}`, { headers: auth });
      }
      await r.flush();
      expect(store.events).toHaveLength(1);
      expect(store.events[0]).toMatchObject({
        annotations: expect.objectContaining({ 'flotilla.io/request-id': 'rid-1' }),
        verb: 'delete',
        requestURI: '/apis/cluster.kubesphere.io/v1alpha1/clusters/m1',
        user: { username: 'alice', extra: { 'flotilla.io/token-id': ['t1'] } },
        objectRef: { resource: 'clusters', name: 'm1', apiGroup: 'cluster.kubesphere.io' },
        responseStatus: { code: 200 },
        userAgent: 'kubectl/v1.33.9',
      });
      expect((store.events[0]!.sourceIPs as string[])[0]).toMatch(/127\.0\.0\.1/);
      expect(JSON.stringify(store.events)).not.toContain('SECRET');
    });

    it('makes a write request wait for room when the buffer is full; reads go on and are dropped', async () => {
      store.hold();
      await fetch(`${base}/apis/x.io/v1/things`, { method: 'POST', headers: auth });
      await fetch(`${base}/apis/x.io/v1/things`, { method: 'POST', headers: auth });
      await eventually(() => expect(r.size).toBe(2));
      // Full: a read is served (its record dropped); a write is not served until there is room.
      expect((await fetch(`${base}/apis/x.io/v1/things`, { headers: auth })).status).toBe(200);
      const blocked = fetch(`${base}/apis/x.io/v1/things/t3`, { method: 'PUT', headers: auth });
      await eventually(async () => expect(await metric('flotilla_audit_waiting_writes')).toBe(1));
      expect(handled).toEqual(['POST /apis/x.io/v1/things', 'POST /apis/x.io/v1/things', 'GET /apis/x.io/v1/things']);
      store.release();
      expect((await blocked).status).toBe(200);
      await eventually(async () => {
        await r.flush();
        expect(store.events.map((e) => e.verb)).toEqual(['create', 'create', 'update']);
      });
      expect(await metric('flotilla_audit_dropped_total', { reason: 'buffer_full' })).toBe(1);
    });
  });
});
