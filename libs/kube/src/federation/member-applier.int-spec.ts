import { FEDERATED_OBJECT_ANNOTATION } from '@flotilla/domain';
import { ClusterHandle, KubeEmulator } from '@flotilla/kube-emulator';
import { eventually } from '@flotilla/testing';
import { parseKubeconfig } from '../kubeconfig/kubeconfig';
import { MemberClient } from '../member/member-client';
import { MemberAddressPolicy } from '../net/address-policy';
import { MemberApplier } from './member-applier';
import { hashOf, placed } from './testing';

type Json = Record<string, any>;

describe('MemberApplier against an emulated member', () => {
  let emu: KubeEmulator;
  let member: ClusterHandle;
  let admin: MemberClient;
  let applier: MemberApplier;
  const policy = new MemberAddressPolicy({ allowLoopback: true });
  const appliers: MemberApplier[] = [];
  const make = (kubeconfig = parseKubeconfig(member.kubeconfig('admin')), options = {}) => {
    const a = new MemberApplier(member.name, kubeconfig, { policy, discoveryRefreshMs: 200, ...options });
    appliers.push(a);
    return a;
  };

  beforeAll(async () => {
    emu = await KubeEmulator.start({ clusters: 0 });
    member = await emu.addCluster({ name: 'm1', flavour: 'eks' });
    admin = new MemberClient(parseKubeconfig(member.kubeconfig('admin')), 5000, { policy });
    await admin.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } });
    applier = make();
  });
  afterAll(async () => {
    for (const a of appliers) a.close();
    admin?.close();
    await emu?.stop();
  });

  it('creates with server-side apply, then sends no request for a known hash and no write for the same hash', async () => {
    const cm = placed('v1', 'ConfigMap', 'apps', 'web', { data: { a: '1' } });
    const first = await applier.apply(cm, { adopt: false });
    expect(first).toMatchObject({ result: 'applied', unchanged: false });
    const stored = (await admin.request<Json>('GET', '/api/v1/namespaces/apps/configmaps/web')).body;
    expect(stored.data).toEqual({ a: '1' });
    expect(stored.metadata.managedFields.map((f: Json) => [f.manager, f.operation])).toContainEqual(['flotilla-federation', 'Apply']);

    member.recordRequests();
    expect(await applier.apply(cm, { adopt: false, known: { hash: hashOf(cm) } })).toEqual({ result: 'applied', object: cm, unchanged: true });
    expect(member.requests()).toEqual([]);

    expect(await applier.apply(cm, { adopt: false })).toMatchObject({ result: 'applied', unchanged: true, object: { data: { a: '1' } } });
    expect(member.requests().map((r) => r.method)).toEqual(['GET']);

    member.recordRequests();
    const changed = placed('v1', 'ConfigMap', 'apps', 'web', { data: { a: '2' } });
    expect(await applier.apply(changed, { adopt: false, known: { hash: hashOf(cm) } })).toMatchObject({ result: 'applied', unchanged: false, object: { data: { a: '2' } } });
    expect(member.requests().map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/v1/namespaces/apps/configmaps/web', 'PATCH /api/v1/namespaces/apps/configmaps/web']);

    // The watch has shown the object as this federated object's: a change is one request, the apply.
    member.recordRequests();
    const again = placed('v1', 'ConfigMap', 'apps', 'web', { data: { a: '3' } });
    const owner = (again.metadata as { annotations: Record<string, string> }).annotations[FEDERATED_OBJECT_ANNOTATION];
    expect(await applier.apply(again, { adopt: false, known: { hash: hashOf(changed), owner } })).toMatchObject({ result: 'applied', unchanged: false, object: { data: { a: '3' } } });
    expect(member.requests().map((r) => `${r.method} ${r.path}`)).toEqual(['PATCH /api/v1/namespaces/apps/configmaps/web']);
  });

  it('does not take over an object it did not create unless asked to adopt', async () => {
    await admin.request('POST', '/api/v1/namespaces/apps/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'pre' }, data: { mine: 'yes' } });
    const cm = placed('v1', 'ConfigMap', 'apps', 'pre', { data: { a: '1' } });
    const refused = await applier.apply(cm, { adopt: false });
    expect(refused).toMatchObject({ result: 'failed', reason: 'Conflict', message: expect.stringMatching(/already exists in m1 and was not created by Flotilla; set the annotation federation\.flotilla\.io\/adopt/) });
    expect((await admin.request<Json>('GET', '/api/v1/namespaces/apps/configmaps/pre')).body.data).toEqual({ mine: 'yes' });

    const other = placed('v1', 'ConfigMap', 'apps', 'pre', { data: { a: '1' } }, 'federatedconfigmaps.types.kubefed.io/apps/someone-else');
    expect(await applier.apply(other, { adopt: true })).toMatchObject({ result: 'applied', unchanged: false });
    expect(await applier.apply(cm, { adopt: false })).toMatchObject({ result: 'failed', reason: 'Conflict', message: expect.stringMatching(/managed by the federated object federatedconfigmaps\.types\.kubefed\.io\/apps\/someone-else/) });

    const adopted = await applier.apply(cm, { adopt: true });
    expect(adopted).toMatchObject({ result: 'applied', unchanged: false, object: { metadata: { annotations: { [FEDERATED_OBJECT_ANNOTATION]: 'federatedconfigmaps.types.kubefed.io/apps/pre' } } } });
  });

  it('waits for the namespace, and for a CRD until it is established', async () => {
    const lost = await applier.apply(placed('v1', 'ConfigMap', 'nowhere', 'x', { data: {} }), { adopt: false });
    expect(lost).toMatchObject({ result: 'failed', reason: 'WaitingForNamespace', retryable: true, message: expect.stringMatching(/waits for namespace nowhere/) });

    const widget = placed('example.com/v1', 'Widget', 'apps', 'w1', { spec: { size: 3 } }, 'federatedobjects.types.flotilla.io/apps/w1');
    expect(await applier.apply(widget, { adopt: false })).toMatchObject({ result: 'failed', reason: 'WaitingForCRD', retryable: true });
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    };
    expect((await admin.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status).toBe(201);
    const applied = await eventually(async () => {
      const r = await applier.apply(widget, { adopt: false });
      expect(r).toMatchObject({ result: 'applied' });
      return r;
    });
    expect(applied).toMatchObject({ object: { spec: { size: 3 } } });
    const established = (await admin.request<Json>('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com')).body;
    expect(established.status.conditions).toContainEqual(expect.objectContaining({ type: 'Established', status: 'True' }));
  });

  it('reports the right Flotilla lacks in the member', async () => {
    const readonly = make(parseKubeconfig(member.kubeconfig('readonly')));
    const r = await readonly.apply(placed('v1', 'ConfigMap', 'apps', 'ro', { data: {} }), { adopt: false });
    expect(r).toMatchObject({ result: 'failed', reason: 'InsufficientRights', message: expect.stringMatching(/lack patch on configmaps \(the member said: ".*cannot patch resource "configmaps"/) });

    // A user that may write ClusterRoles but holds nothing it would grant: escalate is missing.
    await admin.request('POST', '/api/v1/namespaces/apps/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'writer' } });
    await admin.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'role-writer' },
      rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['get', 'create', 'patch', 'update'] }],
    });
    await admin.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'role-writer' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'role-writer' },
      subjects: [{ kind: 'ServiceAccount', name: 'writer', namespace: 'apps' }],
    });
    const token = (await admin.request<Json>('POST', '/api/v1/namespaces/apps/serviceaccounts/writer/token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} })).body.status.token as string;
    const writer = make({ ...parseKubeconfig(member.kubeconfig('admin')), auth: { type: 'token', token } });
    const role = placed('rbac.authorization.k8s.io/v1', 'ClusterRole', undefined, 'secret-reader', { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] }, 'federatedclusterroles.types.kubefed.io//secret-reader');
    expect(await writer.apply(role, { adopt: false })).toMatchObject({ result: 'failed', reason: 'InsufficientRights', message: expect.stringMatching(/lack escalate on clusterroles\.rbac\.authorization\.k8s\.io/) });
    expect(await applier.apply(role, { adopt: false })).toMatchObject({ result: 'applied', object: { metadata: { name: 'secret-reader' } } });
    expect(await applier.get({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'secret-reader' })).toMatchObject({ rules: [{ resources: ['secrets'] }] });
  });

  it('removes only what the federated object placed', async () => {
    const cm = placed('v1', 'ConfigMap', 'apps', 'gone', { data: { a: '1' } });
    await applier.apply(cm, { adopt: false });
    await admin.request('POST', '/api/v1/namespaces/apps/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'theirs' } });
    const ref = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'apps', name });
    const fed = 'federatedconfigmaps.types.kubefed.io/apps/gone';
    expect(await applier.remove(ref('theirs'), fed)).toBe('notOurs');
    expect(await applier.remove(ref('gone'), 'federatedconfigmaps.types.kubefed.io/apps/other')).toBe('notOurs');
    expect(await applier.remove(ref('gone'), fed)).toBe('deleted');
    expect(await applier.get(ref('gone'))).toBeUndefined();
    expect(await applier.remove(ref('gone'), fed)).toBe('absent');
    expect(await applier.remove({ apiVersion: 'nothing.example.com/v1', kind: 'Nothing', name: 'x' }, fed)).toBe('absent');
    expect((await admin.request('GET', '/api/v1/namespaces/apps/configmaps/theirs')).status).toBe(200);
  });

  it('maps an unreachable member to ClusterNotReady, retryable', async () => {
    const other = await emu.addCluster({ name: 'm-down', flavour: 'eks' });
    const a = new MemberApplier('m-down', parseKubeconfig(other.kubeconfig('admin')), { policy, timeoutMs: 1000 });
    appliers.push(a);
    await other.down();
    expect(await a.apply(placed('v1', 'ConfigMap', 'apps', 'x', { data: {} }), { adopt: false })).toMatchObject({ result: 'failed', reason: 'ClusterNotReady', retryable: true });
    await expect(a.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'x' })).rejects.toMatchObject({ reason: 'ClusterNotReady' });
  });
});
