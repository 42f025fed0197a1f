/**
 * What federation-sync does to a member, over real HTTPS: server-side apply as `flotilla-federation`
 * (create, update, conflicts with another manager, label/annotation merge), CRDs applied the same
 * way becoming Established and served (namespaced and cluster-scoped kinds), custom objects sent
 * before their CRD (404 as kube-apiserver answers it), namespaces that do not exist, and the
 * metadata-only list and watch of managed objects by label existence.
 */
import { type JsonObject, type JsonValue } from '@flotilla/apply';
import { eventually } from '@flotilla/testing';
import { KubeEmulator, type ClusterHandle } from './emulator';
import { rawRequest, type RawResponse } from './testing/http-client';

const APPLY = 'application/apply-patch+yaml';
const FED = 'fieldManager=flotilla-federation&force=true';
const MANAGED_BY = 'federation.flotilla.io/managed-by';
const PARTIAL_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const PARTIAL = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

interface Obj extends JsonObject {
  metadata: JsonObject & { resourceVersion: string; labels?: Record<string, string>; annotations?: Record<string, string> };
}

const crd = (plural: string, kind: string, scope: 'Namespaced' | 'Cluster'): string => `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: ${plural}.fed.example.com
  labels: {${MANAGED_BY}: ${plural}}
spec:
  group: fed.example.com
  scope: ${scope}
  names: {plural: ${plural}, singular: ${kind.toLowerCase()}, kind: ${kind}, listKind: ${kind}List}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1}
`;

describe('server-side apply and CRDs as federation-sync uses them', () => {
  let emu: KubeEmulator;
  let c: ClusterHandle;

  beforeAll(async () => {
    emu = await KubeEmulator.start();
    c = await emu.addCluster({ flavour: 'kubeadm' });
    await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
  });
  afterAll(async () => emu.stop());

  function call(method: string, path: string, body?: JsonValue | string, contentType?: string, accept?: string): Promise<RawResponse> {
    return rawRequest(c.server, c.caPem, { method, path, token: c.tokens.admin, body, contentType, accept });
  }
  const apply = (path: string, yaml: string, query = FED): Promise<RawResponse> => call('PATCH', `${path}?${query}`, yaml, APPLY);

  test('a custom object applied before its CRD exists gets the plain-text 404 of an unrouted path', async () => {
    const r = await apply('/apis/fed.example.com/v1/namespaces/team/gadgets/g1', 'apiVersion: fed.example.com/v1\nkind: Gadget\nmetadata: {name: g1}\nspec: {size: 1}\n');
    expect(r.status).toBe(404);
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(r.text).toBe('404 page not found\n');
    const discovery = await call('GET', '/apis/fed.example.com/v1');
    expect(discovery.status).toBe(404);
  });

  test('a CRD applied with SSA becomes Established and its kinds are served: discovery, apply, get, list, watch', async () => {
    const created = await apply('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.fed.example.com', crd('gadgets', 'Gadget', 'Namespaced'));
    expect(created.status).toBe(201);
    expect((created.json as Obj).metadata.managedFields).toEqual([expect.objectContaining({ manager: 'flotilla-federation', operation: 'Apply' })]);
    expect((await apply('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/clustergadgets.fed.example.com', crd('clustergadgets', 'ClusterGadget', 'Cluster'))).status).toBe(201);
    await eventually(async () => {
      const got = (await call('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.fed.example.com')).json as Obj;
      expect((got.status as { conditions: Array<{ type: string; status: string }> }).conditions).toContainEqual(expect.objectContaining({ type: 'Established', status: 'True' }));
    });
    const groups = (await call('GET', '/apis')).json as { groups: Array<{ name: string; preferredVersion: { version: string } }> };
    expect(groups.groups.find((g) => g.name === 'fed.example.com')?.preferredVersion.version).toBe('v1');
    await eventually(async () => {
      const rl = (await call('GET', '/apis/fed.example.com/v1')).json as { resources: Array<{ name: string; namespaced: boolean; kind: string }> };
      expect(rl.resources).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'gadgets', namespaced: true, kind: 'Gadget' }), expect.objectContaining({ name: 'clustergadgets', namespaced: false, kind: 'ClusterGadget' })]));
    });

    const nsPath = '/apis/fed.example.com/v1/namespaces/team/gadgets';
    const watch = rawRequest(c.server, c.caPem, { method: 'GET', path: `${nsPath}?watch=true`, token: c.tokens.admin, stream: { until: (t) => t.includes('"DELETED"') } });
    const g1 = await apply(`${nsPath}/g1`, 'apiVersion: fed.example.com/v1\nkind: Gadget\nmetadata: {name: g1}\nspec: {size: 1}\n');
    expect(g1.status).toBe(201);
    expect(((await apply(`${nsPath}/g1`, 'apiVersion: fed.example.com/v1\nkind: Gadget\nmetadata: {name: g1}\nspec: {size: 2}\n')).json as JsonObject).spec).toEqual({ size: 2 });
    expect(((await call('GET', `${nsPath}/g1`)).json as JsonObject).spec).toEqual({ size: 2 });
    expect(((await call('GET', '/apis/fed.example.com/v1/gadgets')).json as { items: unknown[] }).items).toHaveLength(1);
    const invalid = await apply(`${nsPath}/g2`, 'apiVersion: fed.example.com/v1\nkind: Gadget\nmetadata: {name: g2}\nspec: {size: 0}\n');
    expect(invalid.status).toBe(422);
    expect(await call('DELETE', `${nsPath}/g1`)).toMatchObject({ status: 200 });
    const events = (await watch).text.trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
    expect(events).toEqual(['ADDED', 'MODIFIED', 'DELETED']);

    const cluster = await apply('/apis/fed.example.com/v1/clustergadgets/cg1', 'apiVersion: fed.example.com/v1\nkind: ClusterGadget\nmetadata: {name: cg1}\nspec: {size: 3}\n');
    expect(cluster.status).toBe(201);
    expect((cluster.json as Obj).metadata.namespace).toBeUndefined();
    expect(((await call('GET', '/apis/fed.example.com/v1/clustergadgets')).json as { items: unknown[] }).items).toHaveLength(1);
    // the wrong scope is not routed, as kube-apiserver's CRD handler answers
    const wrongScope = await call('GET', '/apis/fed.example.com/v1/namespaces/team/clustergadgets/cg1');
    expect({ status: wrongScope.status, text: wrongScope.text }).toEqual({ status: 404, text: '404 page not found\n' });
    expect((await call('GET', '/apis/fed.example.com/v1/gadgets/g1')).text).toBe('404 page not found\n');
    // a built-in cluster-scoped kind under a namespace: go-restful's Status
    expect((await call('GET', '/api/v1/namespaces/team/nodes')).json).toMatchObject({ kind: 'Status', code: 404, message: 'the server could not find the requested resource' });
  });

  test('apply into a namespace that does not exist: 404 namespaces "x" not found (also for custom objects)', async () => {
    const expected = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'namespaces "nowhere" not found', reason: 'NotFound', details: { name: 'nowhere', kind: 'namespaces' }, code: 404 };
    const cm = await apply('/api/v1/namespaces/nowhere/configmaps/x', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
    expect({ status: cm.status, body: cm.json }).toEqual({ status: 404, body: expected });
    const created = await call('POST', '/api/v1/namespaces/nowhere/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } });
    expect(created.json).toEqual(expected);
    await eventually(async () => expect((await call('GET', '/apis/fed.example.com/v1/gadgets')).status).toBe(200));
    const custom = await apply('/apis/fed.example.com/v1/namespaces/nowhere/gadgets/g', 'apiVersion: fed.example.com/v1\nkind: Gadget\nmetadata: {name: g}\nspec: {size: 1}\n');
    expect(custom.json).toEqual(expected);
  });

  test('flotilla-federation applies with force; another manager conflicting without force gets 409; labels and annotations merge', async () => {
    const path = '/api/v1/namespaces/team/configmaps/app';
    const doc = (value: string, labels = `{${MANAGED_BY}: team.app}`): string =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  labels: ${labels}\n  annotations: {federation.flotilla.io/hash: h-${value}}\ndata: {mode: ${value}}\n`;
    const created = await apply(path, doc('a'));
    expect(created.status).toBe(201);
    const rv = (created.json as Obj).metadata.resourceVersion;
    // the same apply again is a no-op: same resourceVersion
    const again = await apply(path, doc('a'));
    expect({ status: again.status, rv: (again.json as Obj).metadata.resourceVersion }).toEqual({ status: 200, rv });
    // someone else edits: a label of their own and the federated field
    const edited = await call('PATCH', path, { metadata: { labels: { owner: 'ops' }, annotations: { note: 'by hand' } }, data: { mode: 'manual' } }, 'application/merge-patch+json');
    expect(edited.status).toBe(200);
    // a different applier wanting the field without force: kube's conflict
    const other = await apply(path, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {mode: other}\n', 'fieldManager=someone');
    expect(other.status).toBe(409);
    expect(other.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Apply failed with 1 conflict: conflict with "unknown" using v1: .data.mode',
      reason: 'Conflict',
      details: { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "unknown" using v1', field: '.data.mode' }] },
      code: 409,
    });
    // flotilla-federation without force conflicts with the hand edit too: 1 conflict
    const noForce = await apply(path, doc('b'), 'fieldManager=flotilla-federation');
    expect(noForce.status).toBe(409);
    expect((noForce.json as JsonObject).message).toBe('Apply failed with 1 conflict: conflict with "unknown" using v1: .data.mode');
    expect((noForce.json as { details: JsonObject }).details.causes).toEqual([{ reason: 'FieldManagerConflict', message: 'conflict with "unknown" using v1', field: '.data.mode' }]);
    // with force it takes the field back; the other manager's label and annotation stay
    const forced = await apply(path, doc('b'));
    expect(forced.status).toBe(200);
    const f = forced.json as Obj;
    expect(f.data).toEqual({ mode: 'b' });
    expect(f.metadata.labels).toEqual({ [MANAGED_BY]: 'team.app', owner: 'ops' });
    expect(f.metadata.annotations).toEqual({ 'federation.flotilla.io/hash': 'h-b', note: 'by hand' });
  });

  test('metadata-only list and watch of managed objects by label existence, with selector transitions', async () => {
    const cms = '/api/v1/namespaces/team/configmaps';
    await apply(`${cms}/plain`, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\ndata: {a: b}\n');
    const listed = await call('GET', `${cms}?labelSelector=${encodeURIComponent(MANAGED_BY)}`, undefined, undefined, `${PARTIAL_LIST},application/json`);
    expect(listed.status).toBe(200);
    const list = listed.json as { kind: string; apiVersion: string; metadata: { resourceVersion: string }; items: Obj[] };
    expect({ kind: list.kind, apiVersion: list.apiVersion }).toEqual({ kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1' });
    expect(list.items.map((i) => i.metadata.name)).toEqual(['app']);
    expect(Object.keys(list.items[0])).toEqual(['kind', 'apiVersion', 'metadata']);
    expect(list.items[0].metadata.annotations?.['federation.flotilla.io/hash']).toBe('h-b');

    const watch = rawRequest(c.server, c.caPem, {
      method: 'GET',
      path: `${cms}?watch=true&allowWatchBookmarks=true&labelSelector=${encodeURIComponent(MANAGED_BY)}&resourceVersion=${list.metadata.resourceVersion}`,
      token: c.tokens.admin,
      accept: PARTIAL,
      stream: { until: (t) => t.includes('"name":"end"') },
    });
    await apply(`${cms}/plain`, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain, labels: {${MANAGED_BY}: team.plain}}\ndata: {a: b}\n`, 'fieldManager=flotilla-federation&force=true');
    await apply(`${cms}/app`, doc2('c'));
    await call('PATCH', `${cms}/plain`, { metadata: { labels: { [MANAGED_BY]: null } } }, 'application/merge-patch+json');
    await call('DELETE', `${cms}/app`);
    await call('POST', cms, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'untracked' } });
    await apply(`${cms}/end`, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: end, labels: {${MANAGED_BY}: team.end}}\n`);
    const events = (await watch).text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; object: Obj });
    expect(events.map((e) => `${e.type} ${String(e.object.metadata.name)}`)).toEqual(['ADDED plain', 'MODIFIED app', 'DELETED plain', 'DELETED app', 'ADDED end']);
    for (const e of events) expect(Object.keys(e.object)).toEqual(['kind', 'apiVersion', 'metadata']);
    expect(events.every((e) => e.object.kind === 'PartialObjectMetadata' && e.object.apiVersion === 'meta.k8s.io/v1')).toBe(true);
    // the object leaving the selection is shown as it was, at the revision that removed it
    const left = events[2].object;
    expect(left.metadata.labels?.[MANAGED_BY]).toBe('team.plain');
    const now = (await call('GET', `${cms}/plain`)).json as Obj;
    expect(left.metadata.resourceVersion).toBe(now.metadata.resourceVersion);
    expect(events[1].object.metadata.annotations?.['federation.flotilla.io/hash']).toBe('h-c');
  });
});

function doc2(value: string): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  labels: {${MANAGED_BY}: team.app}\n  annotations: {federation.flotilla.io/hash: h-${value}}\ndata: {mode: ${value}}\n`;
}
