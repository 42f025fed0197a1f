import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectl } from '@flotilla/kube-emulator';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, SourceProcess, httpsCall, preparePlatformEnv, startSourceProcess, writeTokenKubeconfig } from '@flotilla/testing';
import { startGateway } from '../main';

/**
 * Issue 16, protobuf request bodies: a real kubectl v1.33 sends built-in kinds as Kubernetes
 * protobuf, so `kubectl create namespace` against a running gateway on HTTPS (registry as a
 * process, real Postgres and Redis) needs the gateway to decode them. A protobuf body of a kind
 * the URL does not take as protobuf is 415, naming the accepted kinds.
 */
const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const RECORDED = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'kubectl-v1.33-create-namespace.json'), 'utf8')) as { bodyBase64: string };

describe('protobuf request bodies from a real kubectl v1.33', () => {
  let platform: PlatformEnv;
  let registry: SourceProcess;
  let gateway: RunningService;
  let dir: string;
  let ca: string;
  let base: string;
  let kc: string;

  const k = (args: string[]) => kubectl(args, { kubeconfig: kc, timeoutMs: 30_000 });
  /** A request with a binary body (httpsCall sends strings and JSON). */
  const postBytes = (path: string, body: Buffer, type = PROTOBUF) =>
    new Promise<{ status: number; json: Record<string, any> }>((resolve, reject) => {
      const req = request(`${base}${path}`, { method: 'POST', ca, headers: { authorization: `Bearer ${platform.adminToken}`, 'content-type': type }, timeout: 20_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString()) }));
      });
      req.on('error', reject);
      req.end(body);
    });

  beforeAll(async () => {
    platform = await preparePlatformEnv({ gatewayTls: true });
    dir = mkdtempSync(join(tmpdir(), 'flotilla-protobuf-'));
    ca = readFileSync(platform.gatewayTls!.ca, 'utf8');
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    ({ running: gateway } = await startGateway({ ...platform.env('gateway'), FLOTILLA_FEED_POLL_MS: '100' }));
    base = gateway.httpUrl;
    kc = writeTokenKubeconfig({ server: base, caPem: ca, token: platform.adminToken, path: join(dir, 'kubeconfig') });
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    await registry?.stop();
    await platform?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('kubectl create namespace (protobuf), get and delete', async () => {
    const dry = await k(['create', 'namespace', 'team-a', '--dry-run=server']);
    expect(dry.stderr).toBe('');
    expect(dry.stdout.trim()).toBe('namespace/team-a created (server dry run)');
    expect((await k(['get', 'namespace', 'team-a'])).stderr).toMatch(/NotFound|not found/);

    // -v=8 shows the request kubectl sent: protobuf, not JSON.
    const created = await k(['create', 'namespace', 'team-a', '-v=8']);
    expect(created.stderr).toMatch(/"Request" verb="POST" url="https:\/\/127\.0\.0\.1:\d+\/api\/v1\/namespaces\?/);
    expect(created.stderr).toMatch(/Content-Type: application\/vnd\.kubernetes\.protobuf/);
    expect(created.stderr).toMatch(/"Response" status="201 Created"/);
    expect(created.stdout.trim()).toBe('namespace/team-a created');

    const got = await k(['get', 'namespace', 'team-a', '-o', 'json']);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    expect((await k(['get', 'namespace', 'team-a'])).stdout).toMatch(/^NAME\s+.*\nteam-a\s+/);

    const again = await k(['create', 'namespace', 'team-a']);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/AlreadyExists|already exists/);

    const deleted = await k(['delete', 'namespace', 'team-a']);
    expect(deleted.stderr).toBe('');
    expect(deleted.stdout.trim()).toBe('namespace "team-a" deleted');
    expect((await k(['get', 'namespace', 'team-a'])).stderr).toMatch(/NotFound|not found/);
  }, 120_000);

  it('kubectl auth can-i (a SelfSubjectAccessReview in protobuf) through the same decoder', async () => {
    const answer = await k(['auth', 'can-i', 'create', 'namespaces', '-v=8']);
    expect(answer.stderr).toMatch(/url="https:\/\/127\.0\.0\.1:\d+\/apis\/authorization\.k8s\.io\/v1\/selfsubjectaccessreviews"/);
    expect(answer.stderr).toMatch(/Content-Type: application\/vnd\.kubernetes\.protobuf/);
    expect(answer.stdout.trim()).toBe('yes');
  });

  it('the recorded kubectl body creates the same namespace as its JSON twin', async () => {
    const created = await postBytes('/api/v1/namespaces', Buffer.from(RECORDED.bodyBase64, 'base64'));
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } });
    const twin = await httpsCall({ base, ca, token: platform.adminToken }, 'POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-b' }, spec: {} } });
    expect(twin.status).toBe(201);
    const strip = (o: Record<string, any>) => ({ ...o, metadata: { name: '<name>' } });
    expect(strip(created.json)).toEqual(strip(twin.json));
  });

  it('refuses a protobuf body where the URL takes another kind: 415 naming the kinds accepted as protobuf', async () => {
    const body = Buffer.from(RECORDED.bodyBase64, 'base64');
    const cluster = await postBytes('/apis/cluster.kubesphere.io/v1alpha1/clusters', body);
    expect(cluster.status).toBe(415);
    expect(cluster.json).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType', code: 415 });
    expect(cluster.json.message).toMatch(/protobuf bodies are accepted only for v1 Namespace .*send it as JSON or YAML/);
    const user = await postBytes('/apis/iam.kubesphere.io/v1beta1/users', body);
    expect([user.status, user.json.reason]).toEqual([415, 'UnsupportedMediaType']);
    expect(user.json.message).toMatch(/not accepted for iam.kubesphere.io\/v1beta1 User/);
  });
});
