/**
 * Replays requests recorded against a real kube-apiserver v1.26.2 (test/golden) and compares
 * the emulator's answers, ignoring volatile fields (uid, resourceVersion, timestamps, tokens).
 */
import { isObject, type JsonObject, type JsonValue } from '@flotilla/apply';
import { eventually } from '@flotilla/testing';
import { KubeEmulator, type ClusterHandle } from './emulator';
import { loadGolden, normalize, type GoldenRecording } from './testing/golden';
import { rawRequest, type RawResponse } from './testing/http-client';

describe('golden recordings of a real kube-apiserver', () => {
  let emu: KubeEmulator;
  let c: ClusterHandle;
  let readerToken = '';

  beforeAll(async () => {
    // the recorded server ran no kube-controller-manager: no workload status controllers here either
    emu = await KubeEmulator.start({ namespaceDeletionDelayMs: 60_000, workloads: { enabled: false } });
    c = await emu.addCluster({ flavour: 'kubeadm', version: 'v1.26.2' });
  });
  afterAll(async () => emu.stop());

  const send = (g: GoldenRecording, override: Partial<{ path: string; body: JsonValue }> = {}): Promise<RawResponse> => {
    const auth = g.request.auth;
    const token = auth.startsWith('none') ? undefined : auth.includes('invalid') ? 'not-a-valid-token' : auth.includes('ServiceAccount golden/reader') ? readerToken : c.tokens.admin;
    return rawRequest(c.server, c.caPem, {
      method: g.request.method,
      path: override.path ?? g.request.path,
      token,
      body: override.body ?? g.request.body,
      contentType: g.request.headers['Content-Type'],
      accept: g.request.headers.Accept,
    });
  };
  const admin = (method: string, path: string, body?: JsonValue): Promise<RawResponse> => rawRequest(c.server, c.caPem, { method, path, token: c.tokens.admin, body });

  async function expectGolden(prefix: string, override: Partial<{ path: string; body: JsonValue }> = {}): Promise<RawResponse> {
    const g = loadGolden(prefix);
    const r = await send(g, override);
    expect({ file: g.file, status: r.status }).toEqual({ file: g.file, status: g.response.status });
    expect(normalize(r.json ?? r.text)).toEqual(normalize(g.response.body));
    const warning = g.response.headers.Warning;
    if (warning) expect(r.headers.warning).toEqual(warning);
    return r;
  }

  test('discovery and health', async () => {
    await expectGolden('002-');
    await expectGolden('003-');
    await expectGolden('004-');
    await expectGolden('005-');
    await expectGolden('009-');
    const g = loadGolden('001-');
    const v = await send(g);
    expect(Object.keys(v.json as JsonObject)).toEqual(Object.keys(g.response.body as JsonObject));
    // resource lists: same resources, verbs and short names as the real server
    for (const f of ['010-', '011-', '012-']) {
      const gg = loadGolden(f);
      const r = await send(gg);
      expect(r.status).toBe(200);
      expect(normalize(r.json ?? null)).toEqual(normalize(gg.response.body));
    }
    const apis = await send(loadGolden('007-'));
    expect(apis.json).toEqual(loadGolden('007-').response.body);
    const agg = await send(loadGolden('008-'));
    expect(agg.json).toEqual(loadGolden('008-').response.body);
  });

  test('namespaces, configmaps, patches, apply and deletes', async () => {
    await expectGolden('015-');
    await expectGolden('016-');
    await expectGolden('017-');
    await expectGolden('018-');
    await expectGolden('019-');
    await admin('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'golden-extra', labels: { purpose: 'golden' } } });
    await expectGolden('020-');
    const created = await expectGolden('023-');
    const rv1 = String(((created.json as JsonObject).metadata as JsonObject).resourceVersion);
    const put = loadGolden('024-');
    const putBody = structuredClone(put.request.body) as JsonObject;
    (putBody.metadata as JsonObject).resourceVersion = rv1;
    await expectGolden('024-', { body: putBody });
    const stale = structuredClone(loadGolden('025-').request.body) as JsonObject;
    (stale.metadata as JsonObject).resourceVersion = rv1;
    await expectGolden('025-', { body: stale });
    for (const f of ['026-', '027-', '028-', '029-', '030-', '031-', '032-', '033-']) await expectGolden(f);
    for (const f of ['034-', '035-', '036-', '037-', '038-', '039-', '040-']) await expectGolden(f);
    for (const f of ['041-', '042-', '043-', '044-', '045-', '046-', '047-', '048-', '049-']) await expectGolden(f);
  });

  test('terminating namespaces and foreground deletion', async () => {
    await admin('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'golden-doomed' } });
    await expectGolden('050-');
    await expectGolden('051-');
    await expectGolden('052-');
    const fg = await send(loadGolden('053-'));
    expect({ status: fg.status, body: fg.status === 200 ? null : fg.json }).toEqual({ status: 200, body: null });
    const meta = (fg.json as JsonObject).metadata as JsonObject;
    expect(meta.finalizers).toEqual(['foregroundDeletion']);
    expect(meta.generation).toBe(6);
    expect(meta.deletionGracePeriodSeconds).toBe(0);
  });

  test('RBAC, TokenRequest, access reviews and authentication errors', async () => {
    await expectGolden('063-');
    await expectGolden('064-');
    await expectGolden('065-');
    const tr = await expectGolden('066-');
    readerToken = String(((tr.json as JsonObject).status as JsonObject).token);
    await admin('POST', '/api/v1/namespaces/golden/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'protected' }, data: { k: 'v' } });
    const list = await send(loadGolden('067-'));
    expect(list.status).toBe(200);
    for (const f of ['068-', '069-', '070-', '071-', '072-', '073-', '074-', '075-', '076-']) {
      if (f === '075-') {
        const r = await send(loadGolden(f));
        expect(r.status).toBe(200);
        continue;
      }
      await expectGolden(f);
    }
    await expectGolden('077-');
  });

  test('CustomResourceDefinitions are served once established', async () => {
    await expectGolden('079-');
    const crd = await eventually(async () => {
      const r = await send(loadGolden('080-'));
      expect(JSON.stringify(r.json)).toContain('"Established"');
      return r;
    });
    expect(normalize((crd.json as JsonObject).status as JsonValue)).toEqual(normalize((loadGolden('080-').response.body as JsonObject).status as JsonValue));
    await expectGolden('081-');
    await expectGolden('082-');
    await expectGolden('083-');
    await expectGolden('084-');
    await expectGolden('085-');
    await expectGolden('086-');
  });

  test('server-side tables', async () => {
    await expectGolden('095-');
    const g = loadGolden('093-');
    const r = await send(g);
    const cols = (t: JsonValue | undefined): JsonValue => (isObject(t) ? t.columnDefinitions : null);
    expect(cols(r.json)).toEqual(cols(g.response.body));
    const d = loadGolden('094-');
    expect(cols((await send(d)).json)).toEqual(cols(d.response.body));
    const n = loadGolden('097-');
    const nr = await send(n);
    expect(normalize(nr.json ?? null)).toEqual(normalize(n.response.body));
  });

  test('watch: events, too-old resourceVersion, far-future list', async () => {
    const list = await admin('GET', '/api/v1/namespaces/golden/configmaps');
    const rv = String(((list.json as JsonObject).metadata as JsonObject).resourceVersion);
    // The watch resumes from `rv`, so it sees every write below whether they reach the server before it or after.
    // A last write (the sentinel) is the positive signal that nothing else came between the recorded events.
    const sentinelAdded = (text: string): boolean => text.includes('"name":"sentinel"') && text.endsWith('\n');
    const watch = rawRequest(c.server, c.caPem, { method: 'GET', path: `/api/v1/namespaces/golden/configmaps?watch=true&resourceVersion=${rv}`, token: c.tokens.admin, stream: { until: sentinelAdded } });
    await admin('POST', '/api/v1/namespaces/golden/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched' }, data: { step: '1' } });
    const cur = await admin('GET', '/api/v1/namespaces/golden/configmaps/watched');
    await admin('PUT', '/api/v1/namespaces/golden/configmaps/watched', { ...(cur.json as JsonObject), data: { step: '2' } });
    await rawRequest(c.server, c.caPem, { method: 'PATCH', path: '/api/v1/namespaces/golden/configmaps/watched', token: c.tokens.admin, body: { data: { step: '3' } }, contentType: 'application/merge-patch+json' });
    await admin('DELETE', '/api/v1/namespaces/golden/configmaps/watched');
    await admin('POST', '/api/v1/namespaces/golden/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'sentinel' } });
    const w = await watch;
    const g = loadGolden('056-');
    const lines = (s: string): JsonValue[] => s.trim().split('\n').filter(Boolean).map((l) => normalize(JSON.parse(l) as JsonValue));
    const seen = lines(w.text);
    expect(seen.at(-1)).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'sentinel' } } });
    expect(seen.slice(0, -1)).toEqual(lines(String(g.response.body)));
    await admin('DELETE', '/api/v1/namespaces/golden/configmaps/sentinel');
    c.compact();
    // The server answers the too-old version with one ERROR event and ends the stream.
    const old = await rawRequest(c.server, c.caPem, { method: 'GET', path: '/api/v1/namespaces/golden/configmaps?watch=true&resourceVersion=1', token: c.tokens.admin, stream: {} });
    expect(lines(old.text)).toEqual(lines(String(loadGolden('087-').response.body)));
    await expectGolden('089-', { path: `/api/v1/namespaces/golden/configmaps?resourceVersion=${rv}&resourceVersionMatch=Exact` });
  });
});
