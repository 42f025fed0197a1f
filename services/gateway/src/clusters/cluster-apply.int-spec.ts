import { Client } from 'pg';
import { stringify } from 'yaml';
import { CLUSTER_API_VERSION } from '@flotilla/domain';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, SourceProcess, columnsHolding, preparePlatformEnv, startSourceProcess } from '@flotilla/testing';
import { startGateway } from '../main';

/**
 * Issue 16, server-side apply of the Cluster resource over REST (registry and gateway in process,
 * real Postgres and Redis): create on apply (an import queued as POST), managedFields recorded,
 * kept and shown, Update entries for other writers, kube's 409 on conflicts, force, no-op, dry
 * run, status ignored, and credentials: write-only, never owned, changed ones refused by the door.
 */
type Json = Record<string, any>;
const PATH = '/apis/cluster.kubesphere.io/v1alpha1/clusters';
const APPLY = 'application/apply-patch+yaml';
const SECRET = 'SSA-CLUSTER-SECRET-TOKEN-8c2e';
const kubeconfig = (token: string) =>
  `apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster:\n    server: https://203.0.113.20:6443\nusers:\n- name: u\n  user:\n    token: ${token}\ncontexts:\n- name: m\n  context: {cluster: m, user: u}\ncurrent-context: m\n`;

function config(name: string, labels: Record<string, string>, extra: Json = {}): Json {
  return {
    apiVersion: CLUSTER_API_VERSION,
    kind: 'Cluster',
    metadata: { name, labels },
    spec: { provider: 'kubeadm', description: 'applied', connection: { type: 'direct', kubeconfig: kubeconfig(SECRET) } },
    ...extra,
  };
}

describe('gateway: server-side apply of clusters (registry and real Postgres behind it)', () => {
  let platform: PlatformEnv;
  let registry: SourceProcess;
  let gateway: RunningService;
  let pg: Client;
  let base: string;
  /** Every response body, to check that no credential ever appears in one. */
  const seen: string[] = [];

  async function call(method: string, path: string, init: { body?: unknown; yaml?: string; type?: string; agent?: string } = {}) {
    const headers: Record<string, string> = { authorization: `Bearer ${platform.adminToken}` };
    if (init.agent) headers['user-agent'] = init.agent;
    let payload: string | undefined;
    if (init.yaml !== undefined) payload = init.yaml;
    else if (init.body !== undefined) payload = JSON.stringify(init.body);
    if (payload !== undefined) headers['content-type'] = init.type ?? 'application/json';
    const res = await fetch(`${base}${path}`, { method, headers, body: payload });
    const text = await res.text();
    seen.push(text);
    let json: Json = {};
    try {
      json = JSON.parse(text) as Json;
    } catch {
      // not JSON
    }
    return { status: res.status, json, text };
  }
  const apply = (name: string, doc: Json, query = 'fieldManager=kubectl') => call('PATCH', `${PATH}/${name}?${query}`, { yaml: stringify(doc), type: APPLY });
  const managers = (o: Json) => (o.metadata.managedFields ?? []).map((e: Json) => `${e.manager}/${e.operation}`).sort();
  const fieldsOf = (o: Json, manager: string) => (o.metadata.managedFields ?? []).find((e: Json) => e.manager === manager)?.fieldsV1;

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    ({ running: gateway } = await startGateway(platform.env('gateway')));
    base = gateway.httpUrl;
    pg = new Client({ connectionString: platform.db.url });
    await pg.connect();
  }, 120_000);

  afterAll(async () => {
    await pg?.end();
    await gateway?.stop();
    await registry?.stop();
    await platform?.cleanup();
  });

  it('needs a fieldManager (422 naming it), and refuses a configuration for another name or kind', async () => {
    const missing = await apply('ssa-a', config('ssa-a', { env: 'prod' }), '');
    expect([missing.status, missing.json.reason, missing.json.details?.causes?.[0]?.field]).toEqual([422, 'Invalid', 'fieldManager']);
    const otherName = await apply('ssa-a', config('ssa-other', { env: 'prod' }));
    expect([otherName.status, otherName.json.details?.causes?.[0]?.field]).toEqual([400, 'metadata.name']);
    const otherKind = await apply('ssa-a', { ...config('ssa-a', {}), kind: 'User' });
    expect(otherKind.status).toBe(400);
    const withManaged = await apply('ssa-a', { ...config('ssa-a', {}), metadata: { name: 'ssa-a', managedFields: [{ manager: 'x' }] } });
    expect([withManaged.status, withManaged.json.message]).toEqual([400, expect.stringContaining('metadata.managedFields must be nil')]);
    expect((await call('GET', `${PATH}/ssa-a`)).status).toBe(404);
  });

  it('creates an absent cluster (201, an import queued as for POST); the applier owns what it applied, never a credential', async () => {
    const dry = await apply('ssa-a', config('ssa-a', { env: 'prod' }), 'fieldManager=kubectl&dryRun=All');
    expect(dry.status).toBe(201);
    expect((await call('GET', `${PATH}/ssa-a`)).status).toBe(404);

    const created = await apply('ssa-a', config('ssa-a', { env: 'prod' }, { status: { kubernetesVersion: 'v9.9.9' } }));
    expect(created.status).toBe(201);
    expect(created.json.metadata.finalizers).toContain('cluster.flotilla.io/unbind');
    expect(created.json.status.kubernetesVersion).toBeUndefined();
    expect(created.json.metadata.managedFields).toEqual([
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: CLUSTER_API_VERSION,
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:labels': { 'f:env': {} } }, 'f:spec': { 'f:connection': { 'f:type': {} }, 'f:description': {}, 'f:provider': {} } },
      },
    ]);
    const jobs = await pg.query(`SELECT count(*)::int AS n FROM job_outbox WHERE payload->>'name' = 'ssa-a'`);
    expect(jobs.rows[0].n).toBe(1);
    const stored = await pg.query<{ managed_fields: unknown }>('SELECT managed_fields FROM clusters WHERE name = $1', ['ssa-a']);
    expect(stored.rows[0]!.managed_fields).toEqual(created.json.metadata.managedFields);
  });

  it('re-applying the same configuration (credential resent) writes nothing; a changed one is merged', async () => {
    const before = (await call('GET', `${PATH}/ssa-a`)).json;
    const again = await apply('ssa-a', config('ssa-a', { env: 'prod' }));
    expect(again.status).toBe(200);
    expect(again.json.metadata.resourceVersion).toBe(before.metadata.resourceVersion);

    // Fields the manager stops applying are removed: description goes, the label changes.
    const { description: _d, ...spec } = config('ssa-a', {}).spec;
    const changed = await apply('ssa-a', { ...config('ssa-a', { env: 'staging' }), spec });
    expect(changed.status).toBe(200);
    expect(changed.json.metadata.labels).toEqual({ env: 'staging' });
    expect(changed.json.spec.description).toBeUndefined();
    expect(changed.json.metadata.generation).toBe(before.metadata.generation + 1);
    expect(fieldsOf(changed.json, 'kubectl')['f:spec']).toEqual({ 'f:connection': { 'f:type': {} }, 'f:provider': {} });
  });

  it('a merge patch by another manager is recorded as its Update; applying that field again conflicts (409 as kube), force takes it', async () => {
    const labelled = await call('PATCH', `${PATH}/ssa-a?fieldManager=kubectl-label`, { body: { metadata: { labels: { env: 'prod' } } }, type: 'application/merge-patch+json' });
    expect(labelled.status).toBe(200);
    expect(managers(labelled.json)).toEqual(['kubectl-label/Update', 'kubectl/Apply']);
    // The labels map it changed is its too ("."), as libs/apply records an Update for every kind.
    expect(fieldsOf(labelled.json, 'kubectl-label')).toEqual({ 'f:metadata': { 'f:labels': { '.': {}, 'f:env': {} } } });

    const conflict = await apply('ssa-a', config('ssa-a', { env: 'dev' }));
    expect(conflict.status).toBe(409);
    expect(conflict.json).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Conflict',
      code: 409,
      message: `Apply failed with 1 conflict: conflict with "kubectl-label" using ${CLUSTER_API_VERSION}: .metadata.labels.env`,
      details: { causes: [{ reason: 'FieldManagerConflict', message: `conflict with "kubectl-label" using ${CLUSTER_API_VERSION}`, field: '.metadata.labels.env' }] },
    });
    expect((await call('GET', `${PATH}/ssa-a`)).json.metadata.labels).toEqual({ env: 'prod' });

    const forced = await apply('ssa-a', config('ssa-a', { env: 'dev' }), 'fieldManager=kubectl&force=true');
    expect(forced.status).toBe(200);
    expect(forced.json.metadata.labels).toEqual({ env: 'dev' });
    expect(fieldsOf(forced.json, 'kubectl-label')).toEqual({ 'f:metadata': { 'f:labels': {} } });
    expect(fieldsOf(forced.json, 'kubectl')['f:metadata']).toEqual({ 'f:labels': { 'f:env': {} } });
  });

  it('PUT and JSON patches record the writer as an Update (named by its User-Agent without ?fieldManager); [{}] clears managedFields', async () => {
    const current = (await call('GET', `${PATH}/ssa-a`)).json;
    const { managedFields: _m, ...meta } = current.metadata;
    const put = await call('PUT', `${PATH}/ssa-a`, { body: { ...current, metadata: { ...meta, annotations: { team: 'a' } } }, agent: 'flotilla-console/1.0 (linux)' });
    expect(put.status).toBe(200);
    expect(managers(put.json)).toEqual(['flotilla-console/Update', 'kubectl-label/Update', 'kubectl/Apply']);
    expect(fieldsOf(put.json, 'flotilla-console')).toEqual({ 'f:metadata': { 'f:annotations': { '.': {}, 'f:team': {} } } });
    const json = await call('PATCH', `${PATH}/ssa-a`, { body: [{ op: 'add', path: '/spec/description', value: 'by json patch' }], type: 'application/json-patch+json', agent: 'curl/8.0' });
    expect(json.status).toBe(200);
    expect(fieldsOf(json.json, 'curl')).toEqual({ 'f:spec': { '.': {}, 'f:description': {} } });
    // [{}] clears them, as in Kubernetes.
    const cleared = await call('PUT', `${PATH}/ssa-a`, { body: { ...json.json, metadata: { ...json.json.metadata, managedFields: [{}] } } });
    expect([cleared.status, cleared.json.metadata.managedFields]).toEqual([200, undefined]);
  });

  it('a changed credential is refused by the credential door; dry run writes nothing; no credential in any answer or in the database', async () => {
    const changed = await apply('ssa-a', { ...config('ssa-a', { env: 'dev' }), spec: { ...config('ssa-a', {}).spec, connection: { type: 'direct', kubeconfig: kubeconfig('ANOTHER-TOKEN-ANOTHER-1234') } } });
    expect([changed.status, changed.json.reason, changed.json.details?.causes?.[0]?.field]).toEqual([422, 'Invalid', 'spec.connection.kubeconfig']);

    const before = (await call('GET', `${PATH}/ssa-a`)).json;
    const dry = await apply('ssa-a', config('ssa-a', { env: 'qa' }), 'fieldManager=kubectl&dryRun=All');
    expect([dry.status, dry.json.metadata.labels]).toEqual([200, { env: 'qa' }]);
    const after = (await call('GET', `${PATH}/ssa-a`)).json;
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);

    for (const text of seen) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('ANOTHER-TOKEN');
      expect(text).not.toMatch(/f:kubeconfig|f:token/);
    }
    expect((await columnsHolding(pg, SECRET)).hits).toEqual([]);
  });
});
