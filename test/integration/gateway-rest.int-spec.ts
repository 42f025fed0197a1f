import { Client } from 'pg';
import { CLUSTER_API_VERSION } from '@flotilla/domain';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, eventually, preparePlatformEnv } from '@flotilla/testing';
import { startRegistry } from '../../services/registry/src/main';
import { startGateway } from '../../services/gateway/src/main';

// A complete kubeconfig: POST refuses incomplete or hostile ones before storing anything (issue 4).
const KUBECONFIG =
  'apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster:\n    server: https://203.0.113.10:6443\nusers:\n- name: u\n  user:\n    token: GATEWAY-SECRET-TOKEN-42\ncontexts:\n- name: m\n  context: {cluster: m, user: u}\ncurrent-context: m\n';
const PATH = '/apis/cluster.kubesphere.io/v1alpha1/clusters';

function body(name: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: CLUSTER_API_VERSION,
    kind: 'Cluster',
    metadata: { name, labels: { env: 'prod' } },
    spec: { provider: 'kubeadm', connection: { type: 'direct', kubeconfig: KUBECONFIG } },
    ...extra,
  };
}

describe('gateway REST API (registry and real Postgres behind it)', () => {
  let platform: PlatformEnv;
  let registry: RunningService;
  let gateway: RunningService;
  let base: string;
  let logs = '';
  const writeOrig = process.stdout.write.bind(process.stdout);

  async function call(method: string, path: string, init: { body?: unknown; raw?: string; type?: string; token?: string | null; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (init.token !== null) headers.authorization = `Bearer ${init.token ?? platform.adminToken}`;
    let payload: string | undefined;
    if (init.raw !== undefined) payload = init.raw;
    else if (init.body !== undefined) payload = JSON.stringify(init.body);
    if (payload !== undefined) headers['content-type'] = init.type ?? 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers, body: payload });
    const text = await res.text();
    let json: Record<string, any> | undefined;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json: json as Record<string, any>, text, headers: res.headers };
  }

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    ({ running: registry } = await startRegistry({ ...platform.env('registry'), LOG_LEVEL: 'info' }));
    // Capture the gateway's structured logs to check that no secret reaches them.
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      logs += chunk.toString();
      return (writeOrig as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    ({ running: gateway } = await startGateway({ ...platform.env('gateway'), LOG_LEVEL: 'info' }));
    base = gateway.httpUrl;
  });

  afterAll(async () => {
    process.stdout.write = writeOrig;
    await gateway?.stop();
    await registry?.stop();
    await platform?.cleanup();
  });

  it('needs the bearer token on every route but health and metrics', async () => {
    for (const path of [PATH, `${PATH}/x`, '/openapi.json', '/docs', '/no/such/route']) {
      const r = await call('GET', path, { token: null });
      expect([path, r.status]).toEqual([path, 401]);
      expect(r.json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
    }
    expect((await call('GET', PATH, { token: 'wrong-token-of-sufficient-length-000000' })).status).toBe(401);
    for (const path of ['/healthz', '/metrics']) expect((await call('GET', path, { token: null })).status).toBe(200);
    // Ready once this replica holds the fleet and the users, tokens and bindings (it decides from memory).
    await eventually(async () => expect((await call('GET', '/readyz', { token: null })).status).toBe(200));
  });

  it('creates a cluster, shows it without the kubeconfig, and keeps only ciphertext in Postgres', async () => {
    const created = await call('POST', PATH, { body: body('m1') });
    expect(created.status).toBe(201);
    expect(created.json.metadata).toMatchObject({ name: 'm1', labels: { env: 'prod' }, generation: 1 });
    expect(created.json.spec.connection).toEqual({ type: 'direct' });
    expect(created.json.status.conditions.map((c: { type: string; status: string }) => `${c.type}=${c.status}`)).toEqual(['Initialized=False', 'Ready=Unknown']);
    const got = await call('GET', `${PATH}/m1`);
    expect(got.status).toBe(200);
    expect(got.text).not.toContain('GATEWAY-SECRET-TOKEN-42');
    const list = await call('GET', PATH);
    expect(list.json).toMatchObject({ apiVersion: CLUSTER_API_VERSION, kind: 'ClusterList' });
    expect(list.json.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['m1']);
    expect(list.text).not.toContain('GATEWAY-SECRET-TOKEN-42');
    const pg = new Client({ connectionString: platform.db.url });
    await pg.connect();
    const rows = await pg.query(`SELECT row_to_json(t)::text AS j FROM (SELECT * FROM clusters) t UNION ALL SELECT encode(ciphertext, 'escape') FROM cluster_credentials UNION ALL SELECT object::text FROM cluster_changes UNION ALL SELECT payload::text FROM job_outbox`);
    await pg.end();
    expect(rows.rows.length).toBeGreaterThan(3);
    expect(rows.rows.map((r) => r.j).join('\n')).not.toContain('GATEWAY-SECRET-TOKEN-42');
  });

  it('accepts a KubeSphere YAML body with a base64 kubeconfig', async () => {
    const yaml = `apiVersion: ${CLUSTER_API_VERSION}\nkind: Cluster\nmetadata:\n  name: from-yaml\nspec:\n  joinFederation: true\n  connection:\n    type: direct\n    kubeconfig: ${Buffer.from(KUBECONFIG).toString('base64')}\n`;
    const r = await call('POST', PATH, { raw: yaml, type: 'application/yaml' });
    expect(r.status).toBe(201);
    expect(r.json.spec).toMatchObject({ joinFederation: true, connection: { type: 'direct' } });
  });

  it('answers every kind of bad input with a Status naming the field, and writes nothing', async () => {
    const invalid = await call('POST', PATH, { body: body('Bad_Name', { spec: { connection: { type: 'direct' } } }) });
    expect(invalid.status).toBe(422);
    expect(invalid.json).toMatchObject({ kind: 'Status', reason: 'Invalid', code: 422 });
    expect(invalid.json.details.causes.map((c: { field: string }) => c.field)).toEqual(['metadata.name', 'spec.connection.kubeconfig']);

    const cases: [string, Parameters<typeof call>[2], number, string][] = [
      ['not JSON', { raw: '{"apiVersion":', type: 'application/json' }, 400, 'BadRequest'],
      ['an array', { body: [1, 2] }, 400, 'BadRequest'],
      ['the wrong kind', { body: { ...body('x'), kind: 'ConfigMap' } }, 400, 'BadRequest'],
      ['XML', { raw: '<cluster/>', type: 'application/xml' }, 415, 'UnsupportedMediaType'],
      ['a YAML alias bomb', { raw: 'a: &a [x,x]\nb: &b [*a,*a]\nc: [*b,*b]\n', type: 'application/yaml' }, 400, 'BadRequest'],
      ['an oversized body', { raw: JSON.stringify(body('big', { spec: { connection: { type: 'direct', kubeconfig: 'x'.repeat(4 * 1024 * 1024) } } })) }, 413, 'RequestEntityTooLarge'],
      ['a duplicate name', { body: body('m1') }, 409, 'AlreadyExists'],
      ['strict unknown fields', { body: { ...body('strict'), spec: { foo: 1, connection: { type: 'proxy' } } } }, 400, 'BadRequest'],
    ];
    for (const [what, init, code, reason] of cases) {
      const path = what === 'strict unknown fields' ? `${PATH}?fieldValidation=Strict` : PATH;
      const r = await call('POST', path, init);
      expect([what, r.status, r.json?.reason, r.json?.kind]).toEqual([what, code, reason, 'Status']);
      expect(r.text).not.toMatch(/\n\s+at /); // never a stack trace
    }
    expect((await call('GET', `${PATH}?labelSelector=${encodeURIComponent('env in (a')}`)).json.details.causes[0].field).toBe('labelSelector');
    expect((await call('GET', `${PATH}?limit=-1`)).status).toBe(400);
    expect((await call('POST', `${PATH}?dryRun=Some`, { body: body('dry') })).json.message).toContain('dryRun: Unsupported value');
    const names = (await call('GET', PATH)).json.items.map((i: { metadata: { name: string } }) => i.metadata.name);
    expect(names.sort()).toEqual(['from-yaml', 'm1']);
  });

  it('warns about unknown fields by default, and dry-runs without writing', async () => {
    const r = await call('POST', `${PATH}?dryRun=All`, { body: { ...body('dry'), spec: { foo: 1, connection: { type: 'proxy' } } } });
    expect(r.status).toBe(201);
    expect(r.headers.get('warning')).toBe('299 - "unknown field \\"spec.foo\\""');
    expect((await call('GET', `${PATH}/dry`)).status).toBe(404);
  });

  it('replaces with PUT, refusing a stale resourceVersion with 409, and ignores status written by clients', async () => {
    const current = (await call('GET', `${PATH}/m1`)).json;
    const put = await call('PUT', `${PATH}/m1`, { body: { ...current, spec: { ...current.spec, description: 'updated' }, status: { kubernetesVersion: 'forged' } } });
    expect(put.status).toBe(200);
    expect(put.json.spec.description).toBe('updated');
    expect(put.json.status.kubernetesVersion).toBeUndefined();
    const stale = await call('PUT', `${PATH}/m1`, { body: current });
    expect(stale.status).toBe(409);
    expect(stale.json).toMatchObject({ reason: 'Conflict', message: expect.stringContaining('the object has been modified') });
    expect((await call('PUT', `${PATH}/other`, { body: current })).status).toBe(400);
  });

  it('patches with merge and JSON patches, and refuses other patch types with 415', async () => {
    const merge = await call('PATCH', `${PATH}/m1`, { body: { metadata: { labels: { tier: 'gold' } } }, type: 'application/merge-patch+json' });
    expect(merge.status).toBe(200);
    expect(merge.json.metadata.labels).toEqual({ env: 'prod', tier: 'gold' });
    const json = await call('PATCH', `${PATH}/m1`, { body: [{ op: 'replace', path: '/spec/description', value: 'via json patch' }], type: 'application/json-patch+json' });
    expect(json.json.spec.description).toBe('via json patch');
    const failed = await call('PATCH', `${PATH}/m1`, { body: [{ op: 'test', path: '/spec/description', value: 'nope' }], type: 'application/json-patch+json' });
    expect([failed.status, failed.json.reason]).toEqual([400, 'BadRequest']);
    const smp = await call('PATCH', `${PATH}/m1`, { body: {}, type: 'application/strategic-merge-patch+json' });
    expect([smp.status, smp.json.reason]).toEqual([415, 'UnsupportedMediaType']);
    expect((await call('PATCH', `${PATH}/none`, { body: {}, type: 'application/merge-patch+json' })).status).toBe(404);
  });

  it('streams watch events as newline-delimited JSON', async () => {
    const rv = (await call('GET', PATH)).json.metadata.resourceVersion;
    const controller = new AbortController();
    const res = await fetch(`${base}${PATH}?watch=true&resourceVersion=${rv}`, { headers: { authorization: `Bearer ${platform.adminToken}` }, signal: controller.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await call('PATCH', `${PATH}/m1`, { body: { metadata: { labels: { watched: 'yes' } } }, type: 'application/merge-patch+json' });
    let text = '';
    await eventually(async () => {
      const { value } = await reader.read();
      text += Buffer.from(value ?? new Uint8Array()).toString();
      expect(text).toContain('\n');
    });
    const event = JSON.parse(text.split('\n')[0]!);
    expect(event).toMatchObject({ type: 'MODIFIED', object: { metadata: { name: 'm1', labels: { watched: 'yes' } } } });
    expect(text).not.toContain('GATEWAY-SECRET-TOKEN-42');
    controller.abort();
    // timeoutSeconds ends the stream by itself, as the API server does.
    const timed = await fetch(`${base}${PATH}?watch=true&timeoutSeconds=1`, { headers: { authorization: `Bearer ${platform.adminToken}` } });
    const lines = (await timed.text()).trim().split('\n').map((l) => JSON.parse(l) as { type: string; object: { metadata: { name: string } } });
    expect(lines.map((l) => `${l.type} ${l.object.metadata.name}`)).toEqual(['ADDED from-yaml', 'ADDED m1']); // the current state, then the end
    expect((await call('GET', `${PATH}?watch=true&timeoutSeconds=soon`)).json.details.causes[0].field).toBe('timeoutSeconds');
    const expired = await call('GET', `${PATH}?watch=true&resourceVersion=abc`);
    expect([expired.status, expired.json.reason]).toEqual([400, 'BadRequest']);
  });

  it('deletes: the object while the unbind finalizer holds it, a Success Status when gone, 404 after', async () => {
    // Every cluster carries cluster.flotilla.io/unbind (issue 4): DELETE marks it; the removal job
    // (provider-import, not running here) drops the finalizer, which this test does by hand.
    const marked = await call('DELETE', `${PATH}/from-yaml`);
    expect(marked.status).toBe(200);
    expect(marked.json).toMatchObject({ kind: 'Cluster', metadata: { name: 'from-yaml', finalizers: ['cluster.flotilla.io/unbind'], deletionTimestamp: expect.any(String) } });
    const del = await call('PATCH', `${PATH}/from-yaml`, { body: { metadata: { finalizers: null } }, type: 'application/merge-patch+json' });
    expect(del.status).toBe(200);
    expect((await call('GET', `${PATH}/from-yaml`)).status).toBe(404);
    expect((await call('DELETE', `${PATH}/from-yaml`)).json.reason).toBe('NotFound');
  });

  it('serves OpenAPI 3 and browsable docs', async () => {
    const spec = await call('GET', '/openapi.json');
    expect(spec.json.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.json.paths)).toEqual(expect.arrayContaining([PATH, `${PATH}/{name}`]));
    expect(spec.json.components.schemas.Cluster.properties.spec.properties.connection.properties.kubeconfig.writeOnly).toBe(true);
    const basic = Buffer.from(`admin:${platform.adminToken}`).toString('base64');
    const docs = await fetch(`${base}/docs`, { headers: { authorization: `Basic ${basic}` } });
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
  });

  it('answers ServiceUnavailable, not a crash, when the registry is down', async () => {
    await registry.stop();
    const r = await call('GET', `${PATH}/m1`);
    expect([r.status, r.json.reason]).toEqual([503, 'ServiceUnavailable']);
    expect(r.headers.get('retry-after')).toBe('1');
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { name: string; ok: boolean }[] }).checks).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'registry', ok: false })]));
  });

  it('logs requests as JSON with request ids, and never a credential', () => {
    const lines = logs.split('\n').filter((l) => l.includes('"service":"gateway"'));
    const requests = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'http request');
    expect(requests.length).toBeGreaterThan(10);
    for (const r of requests) expect(r.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(logs).not.toContain('GATEWAY-SECRET-TOKEN-42');
    expect(logs).not.toContain(platform.adminToken);
  });
});
