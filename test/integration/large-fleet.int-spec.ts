import { connect } from 'node:net';
import { Client } from 'pg';
import { CLUSTER_API_VERSION, Cluster } from '@flotilla/domain';
import { RegistryClient } from '@flotilla/clients';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, eventually, preparePlatformEnv } from '@flotilla/testing';
import { startRegistry } from '../../services/registry/src/main';
import { startGateway } from '../../services/gateway/src/main';

/**
 * Issue 13, "Bounded gRPC lists and streams": a 12,000-cluster registry (above the ~10,000 where
 * an unpaged ListClusters passed gRPC's 4 MB message size) lists through gRPC page by page and
 * through REST whole (streamed); the gateway's streams have a per-user limit (429), an idle end
 * and a bound on what waits for a client that does not read.
 */
const FLEET = 12_000;
const PATH = '/apis/cluster.kubesphere.io/v1alpha1/clusters';
const KUBECONFIG =
  'apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster:\n    server: https://203.0.113.10:6443\nusers:\n- name: u\n  user:\n    token: LARGE-FLEET-TOKEN\ncontexts:\n- name: m\n  context: {cluster: m, user: u}\ncurrent-context: m\n';
const LIMIT = 3;
const IDLE_SECONDS = 2;
const MAX_BUFFERED = 256 * 1024;

const THROUGH_GRPC = 200;
const name = (i: number) => `c-${String(i).padStart(5, '0')}`;

async function pool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

describe('a 12,000-cluster fleet: bounded lists and streams', () => {
  let platform: PlatformEnv;
  let registry: RunningService;
  let gateway: RunningService;
  let client: RegistryClient;
  let base: string;
  const auth = () => ({ authorization: `Bearer ${platform.adminToken}` });

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    ({ running: registry } = await startRegistry({ ...platform.env('registry'), LOG_LEVEL: 'warn' }));
    client = new RegistryClient(`127.0.0.1:${platform.ports.registryGrpc}`, platform.internalToken, 30_000);
    const started = Date.now();
    // The first THROUGH_GRPC through the registry's own CreateCluster (about 150 a second here,
    // too slow for 12,000 in the time budget); the rest copied from them in SQL, one statement.
    await pool(Array.from({ length: THROUGH_GRPC }, (_, i) => i), 32, async (i) => {
      const c: Cluster = { apiVersion: CLUSTER_API_VERSION, kind: 'Cluster', metadata: { name: name(i), labels: { shard: String(i % 4) } }, spec: { connection: { type: 'direct', kubeconfig: KUBECONFIG } } };
      await client.createCluster(c);
    });
    const db = new Client({ connectionString: platform.db.url });
    await db.connect();
    try {
      await db.query(
        `INSERT INTO clusters (uid, name, labels, annotations, finalizers, resource_version, generation, creation_timestamp, spec, status)
         SELECT gen_random_uuid(), 'c-' || lpad(i::text, 5, '0'), jsonb_build_object('shard', (i % 4)::text), t.annotations, t.finalizers,
                nextval('flotilla_resource_version'), 1, now(), t.spec, t.status
         FROM generate_series($1::int, $2::int) AS i, (SELECT * FROM clusters WHERE name = $3) AS t`,
        [THROUGH_GRPC, FLEET - 1, name(0)],
      );
    } finally {
      await db.end();
    }
    process.stdout.write(`large-fleet: ${FLEET} clusters in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    ({ running: gateway } = await startGateway({
      ...platform.env('gateway'),
      LOG_LEVEL: 'warn',
      FLOTILLA_MAX_WATCHES_PER_CALLER: String(LIMIT),
      FLOTILLA_WATCH_IDLE_TIMEOUT_SECONDS: String(IDLE_SECONDS),
      FLOTILLA_WATCH_MAX_BUFFERED_BYTES: String(MAX_BUFFERED),
    }));
    base = gateway.httpUrl;
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await gateway?.stop();
    await registry?.stop();
    await platform?.cleanup();
  });

  it('gRPC ListClusters pages: 500 by default, at most 1000, every cluster once by following continue', async () => {
    const first = await client.listClusters();
    expect(first.items).toHaveLength(500);
    expect(first.metadata.continue).toBeTruthy();
    expect(first.metadata.remainingItemCount).toBe(FLEET - 500);
    expect((await client.listClusters({ limit: 100_000 })).items).toHaveLength(1000);
    const seen = new Set<string>();
    let pages = 0;
    for await (const page of client.listAllClusters({ limit: 1000 })) {
      pages++;
      expect(page.items.length).toBeLessThanOrEqual(1000);
      for (const c of page.items) seen.add(c.metadata.name);
    }
    expect(pages).toBe(FLEET / 1000);
    expect(seen.size).toBe(FLEET);
  }, 30_000);

  it('REST without a limit lists everything (streamed); with one, a page of at most 1000', async () => {
    const res = await fetch(`${base}${PATH}`, { headers: auth() });
    expect(res.status).toBe(200);
    const list = (await res.json()) as { kind: string; metadata: { resourceVersion: string; continue?: string }; items: Cluster[] };
    expect(list.kind).toBe('ClusterList');
    expect(list.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(list.metadata.continue).toBeUndefined();
    expect(list.items).toHaveLength(FLEET);
    expect(new Set(list.items.map((c) => c.metadata.name)).size).toBe(FLEET);
    expect(JSON.stringify(list.items[0])).not.toContain('LARGE-FLEET-TOKEN');

    const selected = (await (await fetch(`${base}${PATH}?labelSelector=shard%3D1`, { headers: auth() })).json()) as { items: Cluster[] };
    expect(selected.items).toHaveLength(FLEET / 4);

    const page = (await (await fetch(`${base}${PATH}?limit=5000`, { headers: auth() })).json()) as { metadata: { continue?: string }; items: Cluster[] };
    expect(page.items).toHaveLength(1000);
    expect(page.metadata.continue).toBeTruthy();
  }, 30_000);

  it('streams past the per-user limit get 429 naming it; an idle stream ends; closing one frees its slot', async () => {
    const rv = (await client.listClusters({ limit: 1 })).metadata.resourceVersion;
    const aborts: AbortController[] = [];
    const open = async (path: string, headers: Record<string, string> = {}) => {
      const abort = new AbortController();
      aborts.push(abort);
      return fetch(`${base}${path}`, { headers: { ...auth(), ...headers }, signal: abort.signal });
    };
    try {
      // Quiet watches (from now on, nothing changes) and one job event stream: one user's slots.
      const held = [await open(`${PATH}?watch=true&resourceVersion=${rv}`), await open(`${PATH}?watch=true&resourceVersion=${rv}`), await open(`${PATH}/${name(7)}/jobs`, { accept: 'text/event-stream' })];
      for (const r of held) expect(r.status).toBe(200);
      const refused = await open(`${PATH}?watch=true&resourceVersion=${rv}`);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('1');
      const status = (await refused.json()) as Record<string, unknown>;
      expect(status).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'TooManyRequests', code: 429, details: { retryAfterSeconds: 1 } });
      expect(status.message).toMatch(/^Too many requests, please try again later\. .*FLOTILLA_MAX_WATCHES_PER_CALLER/);
      expect((await open(`${PATH}/${name(8)}/jobs?watch=true`)).status).toBe(429);

      // No event and no bookmark for IDLE_SECONDS: each stream ends by itself, and its slot is free again.
      const ended = Date.now();
      await Promise.all(held.map((r) => r.text()));
      expect(Date.now() - ended).toBeLessThan((IDLE_SECONDS + 3) * 1000);
      const again = await eventually(async () => {
        const r = await open(`${PATH}?watch=true&resourceVersion=${rv}`);
        expect(r.status).toBe(200);
        return r;
      });
      await again.text();
    } finally {
      for (const a of aborts) a.abort();
    }
  }, 30_000);

  it('a watch whose client does not read ends with an ERROR Status once the bound is reached, holding no more', async () => {
    // A raw socket that asks for the whole fleet as ADDED events (about 10 MB) and reads nothing.
    const socket = connect(Number(new URL(base).port), '127.0.0.1');
    socket.pause();
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(`GET ${PATH}?watch=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${platform.adminToken}\r\n\r\n`);
    const chunks: Buffer[] = [];
    const closed = new Promise<void>((resolve) => {
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
      });
      socket.on('close', () => resolve());
      socket.on('end', () => resolve());
    });
    // Nobody reads until the gateway has given the stream's slot back, i.e. ended it.
    await eventually(async () => expect(await gatewayStillStreaming()).toBe(false), { timeoutMs: 20_000, intervalMs: 200 });
    socket.resume();
    await closed;
    socket.destroy();
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text.slice(-4096)).toMatch(/"type":"ERROR".*FLOTILLA_WATCH_MAX_BUFFERED_BYTES/);
    // Not the fleet: the gateway stopped at its bound instead of queueing every event.
    expect(text.split('"type":"ADDED"').length - 1).toBeLessThan(FLEET);

    /** True while the gateway still holds this stream's slot (it gives it back when it ends the stream). */
    async function gatewayStillStreaming(): Promise<boolean> {
      const probes: Response[] = [];
      try {
        for (let i = 0; i < LIMIT; i++) probes.push(await fetch(`${base}${PATH}?watch=true&timeoutSeconds=1&resourceVersion=${(await client.listClusters({ limit: 1 })).metadata.resourceVersion}`, { headers: auth() }));
        return probes.some((p) => p.status === 429);
      } finally {
        await Promise.all(probes.map((p) => p.text().catch(() => '')));
      }
    }
  }, 40_000);
});
