import { CLUSTER_API_VERSION } from '@flotilla/domain';
import { PlatformEnv, ServiceProcess, preparePlatformEnv, startPlatformProcesses } from '@flotilla/testing';

/**
 * Hostile input through REST against the whole platform (every service its own process, built as
 * `npm start` builds it). Each case is sent several times; after each case every service still
 * answers /healthz, no process has exited, and the clusters are as they were.
 *
 * To add a case (address policy, member I/O, ...), add a row to CASES: a request, how many times to
 * send it, and the Status every answer must be.
 */

const PATH = '/apis/cluster.kubesphere.io/v1alpha1/clusters';
const MiB = 1024 * 1024;
const SEED = 'hostile-seed';
/** 200 KiB: under the 256 KiB annotation limit, large enough that 16 copies pass the 3 MiB patch limit. */
const BIG_ANNOTATION = 'x'.repeat(200 * 1024);
// A complete kubeconfig; nothing listens there, so the seed's import fails fast and changes nothing we compare.
const KUBECONFIG =
  'apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster:\n    server: https://127.0.0.1:1\nusers:\n- name: u\n  user:\n    token: HOSTILE-SECRET-5e2a\ncontexts:\n- name: m\n  context: {cluster: m, user: u}\ncurrent-context: m\n';

interface HostileRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: string;
  type?: string;
}

export interface HostileCase {
  name: string;
  /** How many times the request is sent (the gateway once died on the second of two). */
  times: number;
  request: () => HostileRequest;
  /**
   * The answer every time: HTTP status (or the statuses allowed; 0 means the server closed the
   * connection without an answer), and for a Kubernetes Status its reason, message and field.
   */
  expected: { code: number | number[]; reason?: string; message?: RegExp; field?: string };
  /** Extra checks once the case has run (e.g. that nothing leaked into the registry's prototypes). */
  after?: (ctx: CaseContext) => Promise<void>;
}

interface CaseContext {
  rest: (req: HostileRequest) => Promise<{ code: number; text: string; json: Record<string, any> | undefined }>;
}

const yamlPost = (body: string): HostileRequest => ({ method: 'POST', path: PATH, body, type: 'application/yaml' });
const jsonPatch = (ops: unknown[]): HostileRequest => ({ method: 'PATCH', path: `${PATH}/${SEED}`, body: JSON.stringify(ops), type: 'application/json-patch+json' });
const mergePatch = (text: string): HostileRequest => ({ method: 'PATCH', path: `${PATH}/${SEED}`, body: text, type: 'application/merge-patch+json' });
const clusterBody = (name: string, kubeconfig?: string) =>
  JSON.stringify({
    apiVersion: CLUSTER_API_VERSION,
    kind: 'Cluster',
    metadata: { name },
    spec: { provider: 'generic', connection: { type: 'direct', ...(kubeconfig !== undefined ? { kubeconfig } : {}) } },
  });

/** After a prototype case: a create without a kubeconfig is still refused as missing one, and a dry run carries no injected field. */
const prototypeIsClean = async ({ rest }: CaseContext) => {
  const missing = await rest({ method: 'POST', path: `${PATH}?dryRun=All`, body: clusterBody('proto-check'), type: 'application/json' });
  expect(missing.code).toBe(422);
  expect(missing.text).toMatch(/spec\.connection\.kubeconfig/);
  const created = await rest({ method: 'POST', path: `${PATH}?dryRun=All`, body: clusterBody('proto-check', KUBECONFIG), type: 'application/json' });
  expect(created.code).toBe(201);
  expect(created.text).not.toMatch(/polluted/);
};

export const CASES: HostileCase[] = [
  // ---- bounded parsing (YAML and JSON bodies)
  { name: 'a YAML body of 3,000 [', times: 5, request: () => yamlPost('['.repeat(3000)), expected: { code: 400, reason: 'BadRequest', message: /the request body nests deeper than 64 levels/, field: 'body' } },
  { name: 'a YAML body of 100,000 [', times: 5, request: () => yamlPost('['.repeat(100_000)), expected: { code: 400, reason: 'BadRequest', message: /more than 5000 YAML lines and structural elements/ } },
  { name: 'a JSON body of 100,000 [', times: 5, request: () => ({ method: 'POST', path: PATH, body: '['.repeat(100_000), type: 'application/json' }), expected: { code: 400, reason: 'BadRequest', message: /nests deeper than 64 levels/ } },
  {
    name: 'deep block nesting',
    times: 5,
    request: () => yamlPost(Array.from({ length: 500 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')),
    expected: { code: 400, reason: 'BadRequest', message: /nests deeper than 64 levels/ },
  },
  {
    name: 'compact block nesting (- - - ...)',
    times: 5,
    request: () => yamlPost(`${'- '.repeat(1000)}x`),
    expected: { code: 400, reason: 'BadRequest', message: /nests deeper than 64 levels/ },
  },
  {
    name: 'a YAML alias bomb',
    times: 5,
    request: () => yamlPost(`a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n${Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`).join('\n')}\n`),
    expected: { code: 400, reason: 'BadRequest', message: /aliases, which are not accepted/ },
  },
  { name: 'three YAML documents', times: 5, request: () => yamlPost('a: 1\n---\nb: 2\n---\nc: 3\n'), expected: { code: 400, reason: 'BadRequest', message: /must hold at most 1 YAML document, found 3/ } },
  { name: '100,000 YAML documents', times: 3, request: () => yamlPost('---\na: 1\n'.repeat(100_000)), expected: { code: 400, reason: 'BadRequest', message: /more than 5000 YAML lines/ } },
  { name: '100,000 keys in one mapping', times: 3, request: () => yamlPost(Array.from({ length: 100_000 }, (_, i) => `k${i}: v`).join('\n')), expected: { code: 400, reason: 'BadRequest', message: /more than 5000 YAML lines/ } },
  { name: 'a YAML body over 3 MiB', times: 3, request: () => yamlPost(`a: ${'x'.repeat(3 * MiB + 10)}`), expected: { code: 413, reason: 'RequestEntityTooLarge' } },
  {
    name: 'a Cluster whose kubeconfig is 1 MiB of [',
    times: 3,
    request: () => ({ method: 'POST', path: PATH, body: clusterBody('bomb-kubeconfig', Buffer.from('['.repeat(MiB - 1)).toString('base64')), type: 'application/json' }),
    expected: { code: 422, reason: 'Invalid', message: /spec\.connection\.kubeconfig: has more than 5000 YAML lines/, field: 'spec.connection.kubeconfig' },
  },
  {
    name: 'a Cluster whose kubeconfig is 3,000 [ (validation endpoint)',
    times: 3,
    request: () => ({ method: 'POST', path: `${PATH}/validation`, body: clusterBody('bomb-kubeconfig', '['.repeat(3000)), type: 'application/json' }),
    expected: { code: 422, reason: 'Invalid', message: /nests deeper than 64 levels/ },
  },
  // ---- safe patching
  {
    name: 'a JSON patch adding /spec/connection/__proto__/kubeconfig',
    times: 3,
    request: () => jsonPatch([{ op: 'add', path: '/spec/connection/__proto__/kubeconfig', value: 'polluted' }]),
    expected: { code: 422, reason: 'Invalid', message: /"__proto__"/, field: 'patch[0].path' },
    after: prototypeIsClean,
  },
  {
    name: 'a JSON patch through constructor/prototype',
    times: 3,
    request: () => jsonPatch([{ op: 'add', path: '/spec/constructor/prototype/polluted', value: 'polluted' }]),
    expected: { code: 422, reason: 'Invalid', message: /"constructor"/, field: 'patch[0].path' },
    after: prototypeIsClean,
  },
  {
    name: 'a JSON patch copying from a __proto__ path',
    times: 3,
    request: () => jsonPatch([{ op: 'copy', from: '/metadata/__proto__', path: '/spec/x' }]),
    expected: { code: 422, reason: 'Invalid', message: /"__proto__"/, field: 'patch[0].from' },
  },
  {
    name: 'a merge patch with a __proto__ key',
    times: 3,
    request: () => mergePatch('{"spec":{"connection":{"__proto__":{"kubeconfig":"polluted"}}}}'),
    expected: { code: 422, reason: 'Invalid', message: /"__proto__"/ },
    after: prototypeIsClean,
  },
  {
    name: '40 copy operations of one large annotation',
    times: 3,
    request: () => jsonPatch(Array.from({ length: 40 }, (_, i) => ({ op: 'copy', from: '/metadata/annotations/big', path: `/metadata/annotations/copy-${i}` }))),
    expected: { code: 422, reason: 'Invalid', message: /larger than 3145728 bytes/ },
  },
  {
    name: '30 doubling copies',
    times: 3,
    request: () => jsonPatch(Array.from({ length: 30 }, (_, i) => ({ op: 'copy', from: '/metadata', path: `/metadata/d${i}` }))),
    expected: { code: 422, reason: 'Invalid', message: /larger than 3145728 bytes/ },
  },
  {
    name: '1,001 operations',
    times: 3,
    request: () => jsonPatch(Array.from({ length: 1001 }, () => ({ op: 'test', path: '/metadata/name', value: SEED }))),
    expected: { code: 422, reason: 'Invalid', message: /at most 1000 are accepted in one patch/ },
  },
  // ---- linear selectors
  {
    // 12,000 characters: the URL stays under Node's 16 KiB header limit, so the selector reaches Flotilla.
    name: 'a 12,000-character label selector (list)',
    times: 5,
    request: () => ({ method: 'GET', path: `${PATH}?labelSelector=env%20in%20(${'a,'.repeat(5990)}b)` }),
    expected: { code: 400, reason: 'BadRequest', message: /labelSelector is too long: must be at most 4096 characters/, field: 'labelSelector' },
  },
  {
    name: 'a 12,000-character label selector (watch)',
    times: 3,
    request: () => ({ method: 'GET', path: `${PATH}?watch=true&labelSelector=${'a'.repeat(12_000)}` }),
    expected: { code: 400, reason: 'BadRequest', message: /labelSelector is too long/ },
  },
  {
    name: 'a 12,000-character field selector',
    times: 3,
    request: () => ({ method: 'GET', path: `${PATH}?fieldSelector=metadata.name%3D${'a'.repeat(12_000)}` }),
    expected: { code: 400, reason: 'BadRequest', message: /fieldSelector is too long/, field: 'fieldSelector' },
  },
  {
    // Node's HTTP parser refuses a 1 MB request line before any of Flotilla's code runs: it answers
    // 431, or resets the connection while the client is still sending.
    name: 'a 1 MB label selector',
    times: 3,
    request: () => ({ method: 'GET', path: `${PATH}?labelSelector=${'a'.repeat(MiB)}` }),
    expected: { code: [431, 0] },
  },
];

describe('hostile input through REST (every service a separate process)', () => {
  let platform: PlatformEnv;
  const procs: Record<string, ServiceProcess> = {};
  const httpPorts = () => ({
    gateway: platform.ports.gatewayHttp,
    registry: platform.ports.registryHttp,
    'provider-import': platform.ports.importHttp,
    'health-probe': platform.ports.probeHttp,
    'federation-sync': platform.ports.syncHttp,
  });

  const rest: CaseContext['rest'] = async (req) => {
    const res = await fetch(`http://127.0.0.1:${platform.ports.gatewayHttp}${req.path}`, {
      method: req.method,
      headers: { authorization: `Bearer ${platform.adminToken}`, ...(req.type ? { 'content-type': req.type } : {}) },
      body: req.body,
    }).catch((error: Error & { cause?: { code?: string } }) => {
      if (error.cause?.code === 'ECONNRESET' || error.cause?.code === 'EPIPE') return undefined;
      throw error;
    });
    if (!res) return { code: 0, text: '', json: undefined };
    const text = await res.text();
    let json: Record<string, any> | undefined;
    try {
      json = JSON.parse(text) as Record<string, any>;
    } catch {
      json = undefined;
    }
    return { code: res.status, text, json };
  };

  /** What a hostile request must never change: each cluster's name, generation, labels, annotations and spec. */
  const snapshot = async () => {
    const list = await rest({ method: 'GET', path: PATH });
    expect(list.code).toBe(200);
    return (list.json!.items as Record<string, any>[])
      .map((c) => ({ name: c.metadata.name, generation: c.metadata.generation, labels: c.metadata.labels, annotations: c.metadata.annotations, spec: c.spec }))
      .sort((a, b) => a.name.localeCompare(b.name));
  };

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    Object.assign(procs, await startPlatformProcesses(platform));
    const seed = await rest({
      method: 'POST',
      path: PATH,
      type: 'application/json',
      body: JSON.stringify({
        apiVersion: CLUSTER_API_VERSION,
        kind: 'Cluster',
        metadata: { name: SEED, labels: { env: 'hostile' }, annotations: { big: BIG_ANNOTATION } },
        spec: { provider: 'generic', connection: { type: 'direct', kubeconfig: KUBECONFIG } },
      }),
    });
    expect({ code: seed.code, text: seed.code === 201 ? '' : seed.text }).toEqual({ code: 201, text: '' });
  }, 180_000);

  afterAll(async () => {
    await Promise.all(Object.values(procs).map((p) => p.stop()));
    await platform?.cleanup();
  });

  it.each(CASES.map((c) => [c.name, c] as const))('%s: refused every time with a Status naming the problem; every service stays up; nothing is written', async (_name, c) => {
    const before = await snapshot();
    for (let i = 0; i < c.times; i++) {
      const answer = await rest(c.request());
      const allowed = Array.isArray(c.expected.code) ? c.expected.code : [c.expected.code];
      expect({ attempt: i + 1, code: allowed.includes(answer.code) ? 'as expected' : answer.code }).toEqual({ attempt: i + 1, code: 'as expected' });
      if (c.expected.reason) {
        expect(answer.json).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: c.expected.reason, code: c.expected.code });
        if (c.expected.message) expect(answer.json!.message).toMatch(c.expected.message);
        if (c.expected.field) expect(answer.json!.details?.causes?.map((x: { field: string }) => x.field)).toContain(c.expected.field);
        expect(answer.text.length).toBeLessThan(4096);
        expect(answer.text).not.toContain('HOSTILE-SECRET');
      }
    }
    for (const [name, port] of Object.entries(httpPorts())) {
      expect([name, procs[name]!.child.exitCode]).toEqual([name, null]);
      expect([name, (await fetch(`http://127.0.0.1:${port}/healthz`)).status]).toEqual([name, 200]);
    }
    expect(await snapshot()).toEqual(before);
    await c.after?.({ rest });
  });

  it('left no fatal error, stack overflow or secret in any service log', () => {
    for (const p of Object.values(procs)) {
      expect([p.name, p.output()]).not.toEqual([p.name, expect.stringMatching(/FATAL ERROR|out of memory|Maximum call stack/)]);
      expect(p.output()).not.toContain('HOSTILE-SECRET');
    }
  });
});
