/**
 * The metadata-only representations a real kube-apiserver serves through content negotiation
 * (`Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`), which controllers
 * and the health probe use to list big kinds (nodes) without their status.
 */
import { type JsonObject } from '@flotilla/apply';
import { KubeEmulator, type ClusterHandle } from './emulator';
import { rawRequest } from './testing/http-client';

const PARTIAL_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
const PARTIAL = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

describe('PartialObjectMetadata content negotiation', () => {
  let emu: KubeEmulator;
  let c: ClusterHandle;

  beforeAll(async () => {
    emu = await KubeEmulator.start();
    c = await emu.addCluster({ flavour: 'eks', version: 'v1.30.4', region: 'eu-west-1' });
  });
  afterAll(async () => emu.stop());

  const get = (path: string, accept: string) => rawRequest(c.server, c.caPem, { method: 'GET', path, token: c.tokens.admin, accept });

  test('a node list as PartialObjectMetadataList carries metadata (labels) and no spec or status', async () => {
    const full = await get('/api/v1/nodes', 'application/json');
    const partial = await get('/api/v1/nodes', `${PARTIAL_LIST},application/json`);
    expect(partial.status).toBe(200);
    const list = partial.json as JsonObject & { items: JsonObject[]; metadata: JsonObject };
    expect(list.kind).toBe('PartialObjectMetadataList');
    expect(list.apiVersion).toBe('meta.k8s.io/v1');
    expect(list.metadata.resourceVersion).toEqual(expect.any(String));
    const fullItems = (full.json as { items: { metadata: JsonObject }[] }).items;
    expect(list.items).toHaveLength(fullItems.length);
    expect(list.items.length).toBeGreaterThan(0);
    for (const [i, item] of list.items.entries()) {
      expect(Object.keys(item).sort()).toEqual(['apiVersion', 'kind', 'metadata']);
      expect(item.kind).toBe('PartialObjectMetadata');
      expect(item.metadata).toEqual(fullItems[i].metadata);
      expect((item.metadata as { labels: Record<string, string> }).labels['topology.kubernetes.io/region']).toBe('eu-west-1');
    }
    expect(partial.text.length).toBeLessThan(full.text.length);
  });

  test('paging works the same on the metadata-only list', async () => {
    const page = await get('/api/v1/nodes?limit=1', PARTIAL_LIST);
    const list = page.json as { items: unknown[]; metadata: { continue?: string } };
    expect(list.items).toHaveLength(1);
    expect(list.metadata.continue).toEqual(expect.any(String));
  });

  test('a single object as PartialObjectMetadata', async () => {
    const r = await get('/api/v1/namespaces/kube-system', PARTIAL);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: expect.objectContaining({ name: 'kube-system', uid: expect.any(String) }) });
  });

  test('a representation the verb cannot serve falls back to the next media type, or is refused with 406', async () => {
    const fallback = await get('/api/v1/nodes', `${PARTIAL},application/json`);
    expect((fallback.json as JsonObject).kind).toBe('NodeList');
    const refused = await get('/api/v1/nodes', PARTIAL);
    expect(refused.status).toBe(406);
    expect(refused.json).toMatchObject({ kind: 'Status', reason: 'NotAcceptable', code: 406 });
    const wrongGroup = await get('/api/v1/nodes', 'application/json;as=PartialObjectMetadataList;g=example.com;v=v1');
    expect(wrongGroup.status).toBe(406);
  });
});
