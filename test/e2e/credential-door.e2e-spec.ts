import { Client } from 'pg';
import { CLUSTER_API_VERSION, ErrorReason, FlotillaError, LAST_APPLIED_ANNOTATION, PatchType } from '@flotilla/domain';
import { RegistryClient } from '@flotilla/clients';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, columnsHolding, preparePlatformEnv } from '@flotilla/testing';
import { startRegistry } from '../../services/registry/src/main';
import { startGateway } from '../../services/gateway/src/main';

/**
 * Issue 12, "one door for credentials" and "no credential in annotations or labels", through REST
 * (gateway and registry in this process, real Postgres and Redis). Credentials change only through
 * PUT .../clusters/{name}/kubeconfig (provider-import's checked door); a PUT or PATCH of the
 * Cluster may resend them unchanged or leave them out. Labels and annotations never hold one.
 */
const PATH = '/apis/cluster.kubesphere.io/v1alpha1/clusters';
const DOOR = (name: string) => `PUT ${PATH}/${name}/kubeconfig`;

const kubeconfig = (server: string, token: string) =>
  `apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster:\n    server: ${server}\nusers:\n- name: u\n  user:\n    token: ${token}\ncontexts:\n- name: m\n  context: {cluster: m, user: u}\ncurrent-context: m\n`;

const TOKEN_1 = 'DOOR-FIRST-SECRET-TOKEN-4c1d9e';
const TOKEN_2 = 'DOOR-OTHER-SECRET-TOKEN-77ab02';
const KC_1 = kubeconfig('https://203.0.113.10:6443', TOKEN_1);
const KC_2 = kubeconfig('https://203.0.113.11:6443', TOKEN_2);

type Json = Record<string, any>;

function cluster(name: string, kc: string | undefined, metadata: Json = {}): Json {
  return {
    apiVersion: CLUSTER_API_VERSION,
    kind: 'Cluster',
    metadata: { name, ...metadata },
    spec: { provider: 'kubeadm', connection: { type: 'direct', ...(kc !== undefined ? { kubeconfig: kc } : {}) } },
  };
}

/** JSON with sorted keys, as kubectl (Go's encoding/json of a map) writes last-applied-configuration. */
function sortedJson(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sort) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Json)[k])])) : v;
  return JSON.stringify(sort(value));
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON merge patch from `from` to `to`: changed and added keys; removed keys as null when `deletions`. */
function diff(from: Json, to: Json, deletions: boolean): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(to)) {
    if (isObj(v) && isObj(from[k])) {
      const inner = diff(from[k], v, deletions);
      if (Object.keys(inner).length > 0) out[k] = inner;
    } else if (JSON.stringify(from[k]) !== JSON.stringify(v)) out[k] = v;
  }
  if (deletions) for (const k of Object.keys(from)) if (!(k in to)) out[k] = null;
  return out;
}

function deletionsOnly(p: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(p)) {
    if (v === null) out[k] = null;
    else if (isObj(v)) {
      const inner = deletionsOnly(v);
      if (Object.keys(inner).length > 0) out[k] = inner;
    }
  }
  return out;
}

function merge(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObj(v) && isObj(out[k]) ? merge(out[k], v) : v;
  return out;
}

describe('the credential door and credentials in metadata (REST)', () => {
  let platform: PlatformEnv;
  let registry: RunningService;
  let gateway: RunningService;
  let base: string;
  let pg: Client;
  const clients: RegistryClient[] = [];
  /** The registry as an internal identity sees it. */
  const as = (identity: 'provider-import' | 'gateway' | 'operator') => {
    const c = new RegistryClient(`127.0.0.1:${platform.ports.registryGrpc}`, platform.tokens[identity]);
    clients.push(c);
    return c;
  };
  const storedKubeconfig = async (name: string) => (await as('provider-import').getClusterCredentials(name)).kubeconfig;

  async function call(method: string, path: string, body?: unknown, type = 'application/json') {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${platform.adminToken}`, ...(body !== undefined ? { 'content-type': type } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: JSON.parse(text) as Json, text, warning: res.headers.get('warning') ?? '' };
  }

  /**
   * `kubectl apply -f file` as kubectl does it for a custom resource (the gateway serves no
   * discovery yet, so a real kubectl cannot be pointed at it): GET; when absent, POST the file with
   * last-applied-configuration set to the file; else a three-way JSON merge patch (deletions from the
   * last applied configuration, changes from the live object) with the new last-applied-configuration.
   */
  async function kubectlApply(file: Json) {
    const name = file.metadata.name as string;
    const modified = structuredClone(file);
    modified.metadata.annotations = { ...(file.metadata.annotations ?? {}), [LAST_APPLIED_ANNOTATION]: sortedJson(file) };
    const live = await call('GET', `${PATH}/${name}`);
    if (live.status === 404) return call('POST', PATH, modified);
    const original = JSON.parse(live.json.metadata?.annotations?.[LAST_APPLIED_ANNOTATION] ?? '{}') as Json;
    const patch = merge(deletionsOnly(diff(original, modified, true)), diff(live.json, modified, false));
    return call('PATCH', `${PATH}/${name}`, patch, 'application/merge-patch+json');
  }

  const causesOf = (r: { json: Json }) => (r.json.details?.causes ?? []) as { reason: string; field: string; message: string }[];

  function expectDoorRefusal(r: { status: number; json: Json; text: string }, name: string, field = 'spec.connection.kubeconfig') {
    expect(r.status).toBe(422);
    expect(r.json).toMatchObject({ kind: 'Status', reason: 'Invalid', code: 422 });
    expect(causesOf(r)).toEqual([{ reason: 'FieldValueForbidden', field, message: expect.stringContaining(DOOR(name)) }]);
    expect(r.json.message).toContain(DOOR(name));
    for (const secret of [TOKEN_1, TOKEN_2]) expect(r.text).not.toContain(secret);
  }

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    ({ running: registry } = await startRegistry(platform.env('registry')));
    ({ running: gateway } = await startGateway(platform.env('gateway')));
    base = gateway.httpUrl;
    pg = new Client({ connectionString: platform.db.url });
    await pg.connect();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await pg?.end();
    await gateway?.stop();
    await registry?.stop();
    await platform?.cleanup();
  });

  it('refuses a PATCH or PUT that swaps the credentials, naming PUT .../kubeconfig, and writes nothing', async () => {
    expect((await call('POST', PATH, cluster('swap', KC_1, { labels: { env: 'prod' } }))).status).toBe(201);
    const before = (await call('GET', `${PATH}/swap`)).json;

    expectDoorRefusal(await call('PATCH', `${PATH}/swap`, { spec: { connection: { kubeconfig: KC_2 } } }, 'application/merge-patch+json'), 'swap');
    expectDoorRefusal(await call('PATCH', `${PATH}/swap`, [{ op: 'add', path: '/spec/connection/kubeconfig', value: KC_2 }], 'application/json-patch+json'), 'swap');
    expectDoorRefusal(await call('PATCH', `${PATH}/swap`, { spec: { connection: { token: TOKEN_2 } } }, 'application/merge-patch+json'), 'swap', 'spec.connection.token');
    const put = { ...before, spec: { ...before.spec, connection: { ...before.spec.connection, kubeconfig: KC_2 } } };
    expectDoorRefusal(await call('PUT', `${PATH}/swap`, put), 'swap');
    expectDoorRefusal(await call('PUT', `${PATH}/swap?dryRun=All`, put), 'swap');
    // Base64, as KubeSphere writes it, is the same rule.
    const b64 = { ...put, spec: { ...put.spec, connection: { ...put.spec.connection, kubeconfig: Buffer.from(KC_2).toString('base64') } } };
    expectDoorRefusal(await call('PUT', `${PATH}/swap`, b64), 'swap');

    expect(await storedKubeconfig('swap')).toBe(KC_1);
    expect((await call('GET', `${PATH}/swap`)).json.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('accepts a PUT or PATCH that leaves the credentials out or resends them unchanged (plain or base64)', async () => {
    const live = (await call('GET', `${PATH}/swap`)).json;
    // GET shows no credential: PUT it back with a change elsewhere.
    const omitted = await call('PUT', `${PATH}/swap`, { ...live, metadata: { ...live.metadata, labels: { env: 'prod', tier: 'a' } } });
    expect(omitted.status).toBe(200);
    expect(omitted.json.metadata.labels).toEqual({ env: 'prod', tier: 'a' });
    const generation = omitted.json.metadata.generation;

    const same = await call('PUT', `${PATH}/swap`, { ...omitted.json, spec: { ...omitted.json.spec, connection: { ...omitted.json.spec.connection, kubeconfig: KC_1 } } });
    expect(same.status).toBe(200);
    const sameB64 = await call('PATCH', `${PATH}/swap`, { metadata: { labels: { tier: 'b' } }, spec: { connection: { kubeconfig: Buffer.from(KC_1).toString('base64') } } }, 'application/merge-patch+json');
    expect(sameB64.status).toBe(200);
    expect(sameB64.json.metadata.labels).toEqual({ env: 'prod', tier: 'b' });
    const emptyField = await call('PATCH', `${PATH}/swap`, { spec: { connection: { kubeconfig: '' } } }, 'application/merge-patch+json');
    expect(emptyField.status).toBe(200);
    // An unchanged credential is no spec change: the generation stays, and nothing is re-stored.
    expect(emptyField.json.metadata.generation).toBe(generation);
    expect(await storedKubeconfig('swap')).toBe(KC_1);
  });

  it('lets provider-import, the door, change credentials in the registry, and not the gateway', async () => {
    const current = await as('provider-import').getCluster('swap');
    const next = { ...current, spec: { ...current.spec, connection: { ...current.spec.connection, kubeconfig: KC_2 } } };
    for (const refused of [as('gateway').updateCluster(next), as('gateway').patchCluster('swap', PatchType.Merge, JSON.stringify({ spec: { connection: { kubeconfig: KC_2 } } }))]) {
      const error = await refused.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(FlotillaError);
      expect((error as FlotillaError).reason).toBe(ErrorReason.Invalid);
      expect((error as FlotillaError).message).toContain(DOOR('swap'));
    }
    expect(await storedKubeconfig('swap')).toBe(KC_1);
    await as('provider-import').updateCluster(next);
    expect(await storedKubeconfig('swap')).toBe(KC_2);
  });

  it('strips the kubeconfig from last-applied-configuration on create, with a Warning, and keeps it out of Postgres', async () => {
    const file = cluster('applied', KC_1, { labels: { env: 'dev' } });
    const created = await call('POST', PATH, { ...file, metadata: { ...file.metadata, annotations: { [LAST_APPLIED_ANNOTATION]: sortedJson(file) } } });
    expect(created.status).toBe(201);
    expect(created.warning).toMatch(/^299 - ".*kubectl\.kubernetes\.io\/last-applied-configuration.*removed spec\.connection\.kubeconfig/);
    expect(created.warning).toContain(DOOR('applied'));

    const shown = (await call('GET', `${PATH}/applied`)).json;
    const lastApplied = JSON.parse(shown.metadata.annotations[LAST_APPLIED_ANNOTATION]);
    expect(lastApplied.spec.connection).toEqual({ type: 'direct' });
    expect(lastApplied.metadata).toEqual({ labels: { env: 'dev' }, name: 'applied' });
    expect(JSON.stringify(shown)).not.toContain(TOKEN_1);
    // The credential itself is stored, encrypted.
    expect(await storedKubeconfig('applied')).toBe(KC_1);

    const scan = await columnsHolding(pg, TOKEN_1);
    expect(scan.tables).toEqual(expect.arrayContaining(['clusters', 'cluster_changes', 'cluster_credentials', 'job_outbox']));
    expect(scan.hits).toEqual([]);
  });

  it('round-trips kubectl apply: an unchanged file is accepted (with the Warning), a changed kubeconfig refused, other changes applied', async () => {
    const file = cluster('kubectl', KC_1, { labels: { env: 'prod' } });
    expect((await kubectlApply(file)).status).toBe(201);

    const again = await kubectlApply(file);
    expect(again.status).toBe(200);
    expect(again.warning).toContain('removed spec.connection.kubeconfig');
    expect(JSON.parse(again.json.metadata.annotations[LAST_APPLIED_ANNOTATION]).spec.connection).toEqual({ type: 'direct' });

    expectDoorRefusal(await kubectlApply(cluster('kubectl', KC_2, { labels: { env: 'prod' } })), 'kubectl');

    const relabelled = await kubectlApply(cluster('kubectl', KC_1, { labels: { env: 'staging' } }));
    expect(relabelled.status).toBe(200);
    expect(relabelled.json.metadata.labels).toEqual({ env: 'staging' });
    expect(await storedKubeconfig('kubectl')).toBe(KC_1);
    // The same file through `kubectl get -o json | kubectl apply -f -`: the object as shown, kubeconfig absent.
    const exported = (await call('GET', `${PATH}/kubectl`)).json;
    delete exported.status;
    const reapplied = await kubectlApply(exported);
    expect(reapplied.status).toBe(200);
    expect(await storedKubeconfig('kubectl')).toBe(KC_1);

    expect((await columnsHolding(pg, TOKEN_1)).hits).toEqual([]);
  });

  it('refuses a label or annotation whose value is a credential, naming the field and not echoing it', async () => {
    const cases: [string, Json, string][] = [
      ['POST', cluster('pasted', KC_1, { annotations: { notes: KC_2 } }), 'metadata.annotations[notes]'],
      ['POST', cluster('pasted', KC_1, { annotations: { notes: Buffer.from(KC_2).toString('base64') } }), 'metadata.annotations[notes]'],
      ['POST', cluster('pasted', KC_1, { labels: { owner: TOKEN_1 } }), 'metadata.labels[owner]'],
      ['PATCH', { metadata: { annotations: { notes: KC_2 } } }, 'metadata.annotations[notes]'],
    ];
    for (const [method, body, field] of cases) {
      const r = method === 'POST' ? await call('POST', PATH, body) : await call('PATCH', `${PATH}/applied`, body, 'application/merge-patch+json');
      expect([field, r.status]).toEqual([field, 422]);
      expect(causesOf(r).map((c) => [c.reason, c.field])).toEqual([['FieldValueForbidden', field]]);
      for (const secret of [TOKEN_1, TOKEN_2]) expect(r.text).not.toContain(secret);
    }
    expect((await call('GET', `${PATH}/pasted`)).status).toBe(404);
    // The registry applies the rule itself too: the cluster's own token as a label, written past the gateway.
    const current = await as('operator').getCluster('applied');
    const error = await as('operator')
      .updateCluster({ ...current, metadata: { ...current.metadata, labels: { leak: TOKEN_1 } } })
      .then(() => undefined, (e: unknown) => e);
    expect((error as FlotillaError).details.causes?.map((c) => c.field)).toEqual(['metadata.labels[leak]']);
    expect((await columnsHolding(pg, TOKEN_2)).hits).toEqual([]);
  });
});
