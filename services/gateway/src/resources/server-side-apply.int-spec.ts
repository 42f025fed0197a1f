import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { kubectl } from '@flotilla/kube-emulator';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, SourceProcess, httpsCall, preparePlatformEnv, startSourceProcess, writeTokenKubeconfig } from '@flotilla/testing';
import { startGateway } from '../main';

/**
 * Issue 16, `kubectl apply --server-side`: a real kubectl v1.33 applies Flotilla's own kinds (a User,
 * a FederatedDeployment) to a running gateway on HTTPS (registry as a process, real Postgres and
 * Redis). managedFields, conflicts worded as kube-apiserver's, --force-conflicts, no-op re-applies,
 * create-on-apply and dry runs, with the implementation the emulator shares (@flotilla/apply).
 */
type Json = Record<string, any>;
const USERS = '/apis/iam.kubesphere.io/v1beta1/users';
const FDEPLOYS = '/apis/types.kubefed.io/v1beta1/namespaces/ssa/federateddeployments';

describe('kubectl apply --server-side against Flotilla (real kubectl v1.33)', () => {
  let platform: PlatformEnv;
  let registry: SourceProcess;
  let gateway: RunningService;
  let dir: string;
  let ca: string;
  let base: string;
  let kc: string;

  function call(method: string, path: string, init: { body?: string; type?: string } = {}) {
    return httpsCall({ base, ca, token: platform.adminToken }, method, path, { body: init.body, contentType: init.type });
  }
  const apply = (path: string, body: unknown, query: string) => call('PATCH', `${path}?${query}`, { body: JSON.stringify(body), type: 'application/apply-patch+yaml' });
  const k = (args: string[]) => kubectl(args, { kubeconfig: kc, timeoutMs: 30_000 });
  const file = (name: string, doc: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, stringify(doc));
    return p;
  };
  const managers = (o: Json) => (o.metadata.managedFields ?? []).map((e: Json) => `${e.manager}/${e.operation}`).sort();
  const fieldsOf = (o: Json, manager: string) => (o.metadata.managedFields ?? []).find((e: Json) => e.manager === manager)?.fieldsV1;

  beforeAll(async () => {
    platform = await preparePlatformEnv({ gatewayTls: true });
    dir = mkdtempSync(join(tmpdir(), 'flotilla-ssa-'));
    ca = readFileSync(platform.gatewayTls!.ca, 'utf8');
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    ({ running: gateway } = await startGateway({ ...platform.env('gateway'), FLOTILLA_FEED_POLL_MS: '100' }));
    base = gateway.httpUrl;
    kc = writeTokenKubeconfig({ server: base, caPem: ca, token: platform.adminToken, path: join(dir, 'kubeconfig') });
    expect((await call('POST', '/api/v1/namespaces', { body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ssa' } }) })).status).toBe(201);
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    await registry?.stop();
    await platform?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a User: applied, re-applied as a no-op, a second manager conflicts (409), --force-conflicts wins, managedFields shown', async () => {
    const user = { apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'User', metadata: { name: 'alice', labels: { team: 'a' } }, spec: { email: 'alice@example.com', displayName: 'Alice', groups: ['team-a'] } };
    const first = await k(['apply', '--server-side', '-f', file('alice.yaml', user)]);
    expect(first).toMatchObject({ code: 0, stdout: 'user.iam.kubesphere.io/alice serverside-applied\n' });
    const created = (await call('GET', `${USERS}/alice`)).json;
    expect(created.metadata.managedFields).toEqual([
      {
        manager: 'kubectl',
        operation: 'Apply',
        apiVersion: 'iam.kubesphere.io/v1beta1',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:metadata': { 'f:labels': { 'f:team': {} } }, 'f:spec': { 'f:displayName': {}, 'f:email': {}, 'f:groups': {} } },
      },
    ]);

    // The same configuration again changes nothing: no new resourceVersion.
    expect(await k(['apply', '--server-side', '-f', file('alice.yaml', user)])).toMatchObject({ code: 0, stdout: 'user.iam.kubesphere.io/alice serverside-applied\n' });
    expect((await call('GET', `${USERS}/alice`)).json.metadata.resourceVersion).toBe(created.metadata.resourceVersion);

    // Another manager setting a field kubectl owns to another value: kube's conflict, nothing written.
    const other = { apiVersion: user.apiVersion, kind: 'User', metadata: { name: 'alice' }, spec: { email: 'alice@other.example' } };
    const refused = await k(['apply', '--server-side', '--field-manager=ops', '-f', file('alice-ops.yaml', other)]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl": .spec.email');
    expect(refused.stderr).toContain('--force-conflicts');
    const rest = await apply(`${USERS}/alice`, other, 'fieldManager=ops');
    expect(rest.status).toBe(409);
    expect(rest.json).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      reason: 'Conflict',
      code: 409,
      message: 'Apply failed with 1 conflict: conflict with "kubectl": .spec.email',
      details: { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl"', field: '.spec.email' }] },
    });
    expect((await call('GET', `${USERS}/alice`)).json.spec.email).toBe('alice@example.com');

    // The same value is no conflict: both managers own it.
    expect((await apply(`${USERS}/alice`, { ...other, spec: { displayName: 'Alice' } }, 'fieldManager=shared')).status).toBe(200);

    const forced = await k(['apply', '--server-side', '--field-manager=ops', '--force-conflicts', '-f', file('alice-ops.yaml', other)]);
    expect(forced).toMatchObject({ code: 0 });
    const after = (await call('GET', `${USERS}/alice`)).json;
    expect(after.spec).toMatchObject({ email: 'alice@other.example', displayName: 'Alice', groups: ['team-a'] });
    expect(managers(after)).toEqual(['kubectl/Apply', 'ops/Apply', 'shared/Apply']);
    expect(fieldsOf(after, 'ops')).toEqual({ 'f:spec': { 'f:email': {} } });
    expect(fieldsOf(after, 'kubectl')['f:spec']).toEqual({ 'f:displayName': {}, 'f:groups': {} });

    // kubectl hides managedFields unless asked.
    const plain = await k(['get', 'user', 'alice', '-o', 'yaml']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).not.toContain('managedFields');
    const shown = await k(['get', 'user', 'alice', '-o', 'yaml', '--show-managed-fields']);
    expect(shown.code).toBe(0);
    const doc = parse(shown.stdout) as Json;
    expect(managers(doc)).toEqual(['kubectl/Apply', 'ops/Apply', 'shared/Apply']);
    expect(fieldsOf(doc, 'ops')).toEqual({ 'f:spec': { 'f:email': {} } });

    // kubectl leaves out a field it applied before: the field goes (nobody else owns it).
    const { displayName: _d, ...lessSpec } = user.spec;
    const fewer = await k(['apply', '--server-side', '-f', file('alice.yaml', { ...user, metadata: { name: 'alice' }, spec: { ...lessSpec, email: 'alice@other.example' } })]);
    expect(fewer.code).toBe(0);
    const trimmed = (await call('GET', `${USERS}/alice`)).json;
    expect(trimmed.metadata.labels).toBeUndefined();
    expect(trimmed.spec.displayName).toBe('Alice'); // "shared" still owns it
    expect(trimmed.spec.email).toBe('alice@other.example');
  });

  it('an update by another client (kubectl label) records an Update entry and takes the field from the applier', async () => {
    const bob = { apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'User', metadata: { name: 'bob', labels: { tier: 'one' } }, spec: { email: 'bob@example.com' } };
    expect((await k(['apply', '--server-side', '-f', file('bob.yaml', bob)])).code).toBe(0);
    expect(await k(['label', 'user', 'bob', 'tier=two', '--overwrite'])).toMatchObject({ code: 0 });
    const labelled = (await call('GET', `${USERS}/bob`)).json;
    expect(managers(labelled)).toEqual(['kubectl-label/Update', 'kubectl/Apply']);
    // An Update owns the labels map itself too ("."), as kube-apiserver records it.
    expect(fieldsOf(labelled, 'kubectl-label')).toEqual({ 'f:metadata': { 'f:labels': { '.': {}, 'f:tier': {} } } });
    const again = await k(['apply', '--server-side', '-f', file('bob.yaml', bob)]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl-label" using iam.kubesphere.io/v1beta1: .metadata.labels.tier');
  });

  it('a FederatedDeployment in a namespace: created by apply, re-applied as a no-op, conflicts inside the template, forced', async () => {
    const fd = {
      apiVersion: 'types.kubefed.io/v1beta1',
      kind: 'FederatedDeployment',
      metadata: { name: 'web', namespace: 'ssa' },
      spec: {
        template: { spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] } } } },
        placement: { clusters: [{ name: 'c1' }] },
      },
    };
    const first = await k(['apply', '--server-side', '-f', file('web.yaml', fd)]);
    expect(first).toMatchObject({ code: 0, stdout: 'federateddeployment.types.kubefed.io/web serverside-applied\n' });
    const created = (await call('GET', `${FDEPLOYS}/web`)).json;
    expect(managers(created)).toEqual(['kubectl/Apply']);
    expect(fieldsOf(created, 'kubectl')['f:spec']['f:template']['f:spec']['f:replicas']).toEqual({});
    expect(fieldsOf(created, 'kubectl')['f:spec']['f:placement']).toEqual({ 'f:clusters': {} });

    expect((await k(['apply', '--server-side', '-f', file('web.yaml', fd)])).code).toBe(0);
    expect((await call('GET', `${FDEPLOYS}/web`)).json.metadata.resourceVersion).toBe(created.metadata.resourceVersion);

    const scale = { apiVersion: fd.apiVersion, kind: fd.kind, metadata: { name: 'web', namespace: 'ssa' }, spec: { template: { spec: { replicas: 5 } } } };
    // A partial configuration: kubectl's client-side validation would ask for spec.placement (required).
    const refused = await k(['apply', '--server-side', '--validate=false', '--field-manager=autoscaler', '-f', file('scale.yaml', scale)]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl": .spec.template.spec.replicas');
    expect(await k(['apply', '--server-side', '--validate=false', '--field-manager=autoscaler', '--force-conflicts', '-f', file('scale.yaml', scale)])).toMatchObject({ code: 0 });
    const scaled = (await call('GET', `${FDEPLOYS}/web`)).json;
    expect(scaled.spec.template.spec.replicas).toBe(5);
    expect(scaled.spec.template.spec.template.spec.containers[0].image).toBe('nginx:1.25');
    expect(scaled.spec.placement).toEqual({ clusters: [{ name: 'c1' }] });
    const shown = parse((await k(['get', 'federateddeployment', 'web', '-n', 'ssa', '-o', 'yaml', '--show-managed-fields'])).stdout) as Json;
    expect(managers(shown)).toEqual(['autoscaler/Apply', 'kubectl/Apply']);
  });

  it('refuses an apply without fieldManager naming it; dryRun creates nothing; the name must match the URL', async () => {
    const carol = { apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'User', metadata: { name: 'carol' }, spec: { email: 'carol@example.com' } };
    const missing = await apply(`${USERS}/carol`, carol, '');
    expect(missing.status).toBe(422);
    expect(missing.json).toMatchObject({ reason: 'Invalid', details: { group: 'meta.k8s.io', kind: 'PatchOptions', causes: [{ reason: 'FieldValueRequired', field: 'fieldManager' }] } });
    expect(missing.json.message).toContain('fieldManager: Required value: is required for apply patch');

    const dry = await apply(`${USERS}/carol`, carol, 'fieldManager=test&dryRun=All');
    expect(dry.status).toBe(201);
    expect(dry.json.metadata.managedFields[0]).toMatchObject({ manager: 'test', operation: 'Apply' });
    expect((await call('GET', `${USERS}/carol`)).status).toBe(404);

    const made = await apply(`${USERS}/carol`, carol, 'fieldManager=test');
    expect(made.status).toBe(201);
    expect((await apply(`${USERS}/carol`, { ...carol, spec: { email: 'c@example.com' } }, 'fieldManager=test&dryRun=All')).json.spec.email).toBe('c@example.com');
    expect((await call('GET', `${USERS}/carol`)).json.spec.email).toBe('carol@example.com');

    const wrongName = await apply(`${USERS}/carol`, { ...carol, metadata: { name: 'dave' } }, 'fieldManager=test');
    expect(wrongName.status).toBe(400);
    expect(wrongName.json.message).toContain('does not match the name on the URL');
    const noKind = await apply(`${USERS}/carol`, { metadata: { name: 'carol' } }, 'fieldManager=test');
    expect(noKind.status).toBe(400);
    expect(noKind.json.message).toContain('apiVersion');
    const forceOnMerge = await call('PATCH', `${USERS}/carol?force=true`, { body: '{}', type: 'application/merge-patch+json' });
    expect(forceOnMerge.status).toBe(422);
    expect(forceOnMerge.json.details.causes[0].field).toBe('force');
    // Validation runs on the merged object, as for any write.
    const bad = await apply(`${USERS}/carol`, { ...carol, spec: { email: 'x'.repeat(300) } }, 'fieldManager=test');
    expect(bad.status).toBe(422);
  });
});
