import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { kubectl } from '@flotilla/kube-emulator';
import type { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, httpsCall, preparePlatformEnv, writeTokenKubeconfig } from '@flotilla/testing';
import { startProviderImport } from '../../services/provider-import/src/main';
import { startRegistry } from '../../services/registry/src/main';
import { startGateway } from '../../services/gateway/src/main';

/**
 * Issue 16 (discovery and OpenAPI): a real kubectl v1.33 against the gateway (registry and gateway
 * in this process, real Postgres and Redis, HTTPS as kubectl needs for a bearer token) finds
 * Flotilla's kinds through aggregated discovery, explains them from OpenAPI v3, and applies with
 * client-side validation on; the documents' shapes match a real API server's (the golden recordings).
 */
type Json = Record<string, any>;
const GOLDEN = join(__dirname, '../../libs/kube-emulator/test/golden');
const golden = (file: string) => JSON.parse(readFileSync(join(GOLDEN, file), 'utf8')) as Json;

/** The shape of a JSON value: its keys and their types (an array's shape is its first element's). */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.length > 0 ? [shape(v[0])] : [];
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  return v === null ? 'null' : typeof v;
}

const KUBECONFIG_TEXT = stringify({
  apiVersion: 'v1',
  kind: 'Config',
  clusters: [{ name: 'm', cluster: { server: 'https://127.0.0.1:1' } }],
  users: [{ name: 'm', user: { token: 'not-a-real-token' } }],
  contexts: [{ name: 'm', context: { cluster: 'm', user: 'm' } }],
  'current-context': 'm',
});
const clusterYaml = (name: string, connection: Json) =>
  stringify({ apiVersion: 'cluster.kubesphere.io/v1alpha1', kind: 'Cluster', metadata: { name }, spec: { provider: 'kubeadm', connection } });

describe('kubectl against Flotilla: discovery, OpenAPI v2/v3, explain and validated apply', () => {
  let platform: PlatformEnv;
  let registry: RunningService;
  let gateway: RunningService;
  let importer: RunningService;
  let ca = '';
  let base = '';
  let kubeconfig = '';
  const k = (args: string[], input?: string) => kubectl(args, { kubeconfig, input, timeoutMs: 30_000 });

  function call(path: string, headers: Record<string, string> = {}) {
    return httpsCall({ base, ca, token: platform.adminToken }, 'GET', path, { headers, timeoutMs: 10_000 });
  }

  beforeAll(async () => {
    platform = await preparePlatformEnv({ gatewayTls: true });
    ca = readFileSync(platform.gatewayTls!.ca, 'utf8');
    ({ running: registry } = await startRegistry(platform.env('registry')));
    ({ running: importer } = await startProviderImport(platform.env('provider-import')));
    ({ running: gateway } = await startGateway(platform.env('gateway')));
    base = gateway.httpUrl;
    kubeconfig = writeTokenKubeconfig({ server: base, caPem: ca, token: platform.adminToken });
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    await importer?.stop();
    await registry?.stop();
    await platform?.cleanup();
    if (kubeconfig) rmSync(dirname(kubeconfig), { recursive: true, force: true });
  });

  it('kubectl api-resources lists every kind Flotilla serves, from aggregated discovery alone', async () => {
    const r = await k(['api-resources', '-v=6']);
    expect(r.code).toBe(0);
    for (const line of [
      /^clusters\s+cluster\.kubesphere\.io\/v1alpha1\s+false\s+Cluster$/m,
      /^namespaces\s+ns\s+v1\s+false\s+Namespace$/m,
      /^users\s+iam\.kubesphere\.io\/v1beta1\s+false\s+User$/m,
      /^tokens\s+iam\.flotilla\.io\/v1alpha1\s+false\s+Token$/m,
      /^clusteraccessbindings\s+cab\s+iam\.flotilla\.io\/v1alpha1\s+false\s+ClusterAccessBinding$/m,
      /^federateddeployments\s+fdeploy\s+types\.kubefed\.io\/v1beta1\s+true\s+FederatedDeployment$/m,
      /^federatedobjects\s+types\.flotilla\.io\/v1alpha1\s+true\s+FederatedObject$/m,
      /^replicaschedulingpreferences\s+rsp\s+scheduling\.kubefed\.io\/v1alpha1\s+true\s+ReplicaSchedulingPreference$/m,
      /^selfsubjectaccessreviews\s+authorization\.k8s\.io\/v1\s+false\s+SelfSubjectAccessReview$/m,
      /^events\s+ev\s+events\.k8s\.io\/v1\s+true\s+Event$/m,
    ]) {
      expect(r.stdout).toMatch(line);
    }
    // Aggregated discovery answered /api and /apis: kubectl fetched no per-group-version list.
    expect(r.stderr).toMatch(/verb="GET" url="https:\/\/[^"]+\/apis\?timeout=32s" status="200 OK"/);
    expect(r.stderr).not.toMatch(/url="https:\/\/[^"]+\/apis\/[^"?]+\/[^"?]+[?"]/);
  });

  it('aggregated discovery has the shape kube-apiserver 1.33 answers, an ETag, and 304 for it', async () => {
    const accept = golden('008-apis-aggregated-discovery.json').request.headers.Accept as string;
    const r = await call('/apis', { accept });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    const body = JSON.parse(r.text) as Json;
    expect(body).toMatchObject({ kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {} });
    const cluster = body.items.find((i: Json) => i.metadata.name === 'cluster.kubesphere.io');
    expect(cluster.versions[0]).toMatchObject({ version: 'v1alpha1', freshness: 'Current' });
    expect(cluster.versions[0].resources[0]).toEqual({
      resource: 'clusters',
      responseKind: { group: 'cluster.kubesphere.io', version: 'v1alpha1', kind: 'Cluster' },
      scope: 'Cluster',
      singularResource: 'cluster',
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      subresources: expect.arrayContaining([{ subresource: 'kubeconfig', responseKind: { group: 'cluster.kubesphere.io', version: 'v1alpha1', kind: 'Cluster' }, verbs: ['create', 'get', 'update'] }]),
    });
    // The group names are those of the legacy list, in the same order (one source).
    const legacy = JSON.parse((await call('/apis', { accept: 'application/json' })).text) as Json;
    expect(shape(legacy)).toEqual(shape(golden('007-apis.json').response.body));
    expect(body.items.map((i: Json) => i.metadata.name)).toEqual(legacy.groups.map((g: Json) => g.name));
    expect(r.headers.etag).toMatch(/^"[0-9A-F]{128}"$/);
    expect((await call('/apis', { accept, 'if-none-match': r.headers.etag as string })).status).toBe(304);
    // v2beta1 alone, and the core group.
    const beta = await call('/apis', { accept: 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList' });
    expect(JSON.parse(beta.text)).toMatchObject({ apiVersion: 'apidiscovery.k8s.io/v2beta1' });
    const core = JSON.parse((await call('/api', { accept })).text) as Json;
    expect(core.items).toEqual([{ metadata: { creationTimestamp: null }, versions: [expect.objectContaining({ version: 'v1', freshness: 'Current' })] }]);
    expect(core.items[0].versions[0].resources.map((x: Json) => x.resource)).toEqual(['events', 'namespaces']);
    // What the server cannot produce is 406, as golden 009 (a 1.26 server refusing v2).
    const refused = await call('/apis', { accept: 'application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2' });
    expect(refused.status).toBe(406);
    expect(shape(JSON.parse(refused.text))).toEqual(shape(golden('009-apis-discovery-v2-only.json').response.body));
  });

  it('the OpenAPI v3 index and v2 document have the shape of a real server\'s', async () => {
    const index = await call('/openapi/v3');
    expect(index.headers['content-type']).toBe(golden('014-openapi-v3-index.json').response.headers['Content-Type']);
    const paths = (JSON.parse(index.text) as Json).paths as Record<string, Json>;
    const goldenPaths = (JSON.parse(golden('014-openapi-v3-index.json').response.body as string) as Json).paths as Record<string, Json>;
    expect(shape(paths['apis/cluster.kubesphere.io/v1alpha1'])).toEqual(shape(goldenPaths['apis/apps/v1']));
    for (const [p, e] of Object.entries(paths)) expect(e.serverRelativeURL).toMatch(new RegExp(`^/openapi/v3/${p.replace(/\./g, '\\.')}\\?hash=[0-9A-F]{128}$`));
    const doc = await call(paths['apis/cluster.kubesphere.io/v1alpha1']!.serverRelativeURL);
    expect(doc.status).toBe(200);
    expect(doc.headers['cache-control']).toBe('public, immutable');
    const v3 = JSON.parse(doc.text) as Json;
    expect(v3.components.schemas['io.kubesphere.cluster.v1alpha1.Cluster']['x-kubernetes-group-version-kind']).toEqual([{ group: 'cluster.kubesphere.io', version: 'v1alpha1', kind: 'Cluster' }]);
    expect(Object.keys(v3.paths)).toEqual(expect.arrayContaining(['/apis/cluster.kubesphere.io/v1alpha1/clusters', '/apis/cluster.kubesphere.io/v1alpha1/clusters/{name}']));
    const fed = JSON.parse((await call('/openapi/v3/apis/types.kubefed.io/v1beta1')).text) as Json;
    expect(fed.components.schemas['io.kubefed.types.v1beta1.FederatedDeployment'].properties.spec.properties.template).toMatchObject({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    expect((await call('/openapi/v3/apis/nothing.example.com/v1')).status).toBe(404);

    const v2 = await call('/openapi/v2', { accept: 'application/json' });
    const goldenV2 = golden('013-openapi-v2.json').response;
    expect(v2.headers['content-type']).toBe(goldenV2.headers['Content-Type']);
    // The golden body is cut at 2048 characters: compare how both begin.
    expect(v2.text.slice(0, 40).replace(/"version":"[^"]*"/, '')).toBe((goldenV2.body as string).slice(0, 40).replace(/"version":"[^"]*"/, ''));
    const v2doc = JSON.parse(v2.text) as Json;
    expect(v2doc.definitions['io.kubesphere.cluster.v1alpha1.Cluster'].properties.metadata.$ref).toBe('#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
    const proto = await call('/openapi/v2', { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' });
    expect(proto.headers['content-type']).toBe('application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    expect(proto.body.subarray(0, 5).toString('latin1')).toBe('\n\u00032.0');
  });

  it('kubectl explain cluster.spec.connection prints the field docs', async () => {
    const r = await k(['explain', 'cluster.spec.connection']);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/KIND:\s+Cluster/);
    expect(r.stdout).toMatch(/GROUP:\s+cluster\.kubesphere\.io/);
    expect(r.stdout).toMatch(/FIELD: connection <Object>/);
    expect(r.stdout).toMatch(/kubernetesAPIEndpoint\s+<string>/);
    expect(r.stdout).toMatch(/type\s+<string> -required-/);
    const fed = await k(['explain', 'federateddeployments.spec.placement']);
    expect(fed.stdout).toMatch(/clusterSelector\s+<LabelSelector>/);
  });

  it('kubectl apply -f cluster.yaml validates (no --validate=false) and refuses a typo field', async () => {
    const ok = await k(['apply', '-f', '-'], clusterYaml('applied', { type: 'direct', kubeconfig: KUBECONFIG_TEXT }));
    expect(ok).toMatchObject({ code: 0 });
    // No validation error: the only line is the server's warning that the credential left last-applied.
    expect(ok.stderr).not.toMatch(/validat|openapi/i);
    expect(ok.stdout).toMatch(/cluster\.cluster\.kubesphere\.io\/applied created/);
    // Cluster supports fieldValidation: kubectl leaves the check to the server, which refuses strictly.
    const typo = await k(['apply', '-f', '-'], clusterYaml('typo', { type: 'direct', kubeconfig: KUBECONFIG_TEXT, endpont: 'x' }));
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toMatch(/unknown field "spec\.connection\.endpont"/);
    // A generic-layer kind: kubectl validates on the client from /openapi/v2.
    const user = (spec: Json) => stringify({ apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'User', metadata: { name: 'dana' }, spec });
    const created = await k(['apply', '-f', '-'], user({ email: 'dana@example.com' }));
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const bad = await k(['apply', '-f', '-'], user({ emial: 'dana@example.com' }));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/unknown field "emial"/);
  });
});
