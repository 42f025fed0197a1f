import { ClusterHandle, KubeEmulator, kubectl, writeKubeconfig } from '@flotilla/kube-emulator';
import { eventually } from '@flotilla/testing';
import { parseKubeconfig } from '../kubeconfig/kubeconfig';
import { MemberClient } from '../member/member-client';
import { MemberAddressPolicy } from '../net/address-policy';
import { MemberAccessRefusedError, NO_USER_PLACEHOLDER, syncMemberAccess } from './member-access';
import { IMPERSONATION_GROUPS, IMPERSONATION_USERS, MEMBER_ROLE_NAME, memberClusterRoleRules } from './member-role';
import { createServiceAccountKubeconfig, removeFromMember, writeMarker } from './member-setup';

/**
 * ADR 0030 against an emulated member, driven by a real kubectl: after a sync with Flotilla's own
 * (minimal) member credential, the member itself lets Flotilla impersonate exactly the bound users
 * with the role groups, and its own RBAC enforces the role.
 */
const policy = new MemberAddressPolicy({ allowLoopback: true });
const RBAC = '/apis/rbac.authorization.k8s.io/v1';
type Json = Record<string, any>;
// Raw reads: kubectl's discovery would hide the member's refusal behind a generic error.
const PODS = '/api/v1/namespaces/default/pods';

describe('impersonation sync in a member (ADR 0030, emulator + kubectl)', () => {
  let emu: KubeEmulator;
  let member: ClusterHandle;
  let sa: MemberClient;
  let saKubeconfig: string;
  const client = (kubeconfig: string) => new MemberClient(parseKubeconfig(kubeconfig), 5000, { policy });
  const admin = () => client(member.kubeconfig('admin'));
  const asUser = (user: string, role: string, args: string[]) => kubectl(['--as', `flotilla:user:${user}`, '--as-group', `flotilla:role:${role}`, ...args], { kubeconfig: writeKubeconfig(saKubeconfig) });

  beforeAll(async () => {
    emu = await KubeEmulator.start({ clusters: 0 });
    member = await emu.addCluster({ flavour: 'kubeadm', nodes: [{ name: 'n1', zone: 'z1', region: 'r1' }] });
    const setup = await createServiceAccountKubeconfig(admin(), parseKubeconfig(member.kubeconfig('admin')), 'm1', { tokenTtlSeconds: 3600 });
    saKubeconfig = setup.kubeconfig;
    sa = client(saKubeconfig);
    await writeMarker(sa, { hostId: 'host-a', clusterName: 'm1', clusterUid: 'u1', objects: setup.objects, owner: setup.owner });
    await admin().request('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { containers: [{ name: 'web', image: 'nginx' }] } });
  });
  afterAll(async () => {
    sa?.close();
    await emu?.stop();
  });

  it('the member role alone impersonates no one (the fixed names of ADR 0029 are gone)', async () => {
    expect(memberClusterRoleRules().some((r) => (r.resources as string[] | undefined)?.some((x) => x === 'users' || x === 'groups'))).toBe(false);
    const before = await kubectl(['--as', IMPERSONATION_USERS[0]!, '--as-group', IMPERSONATION_GROUPS[0]!, 'get', '--raw', '/version'], { kubeconfig: writeKubeconfig(saKubeconfig) });
    expect(before.stderr).toMatch(/cannot impersonate resource "users"/);
  });

  it('a sync with the member role alone (no cluster-admin) writes the role bindings and the impersonation role, owned by flotilla:host', async () => {
    expect((await sa.request('GET', '/api/v1/secrets')).status).toBe(403); // not cluster-admin
    const result = await syncMemberAccess(sa, { users: ['alice'] });
    expect(result.written).toEqual(expect.arrayContaining(['ClusterRoleBinding flotilla:role:cluster-viewer', 'ClusterRole flotilla:impersonation', 'ClusterRoleBinding flotilla:impersonation']));
    const role = (await admin().request('GET', `${RBAC}/clusterroles/flotilla:impersonation`)).body as Json;
    expect(role.rules[0]).toEqual({ apiGroups: [''], resources: ['users'], resourceNames: ['flotilla:user:alice'], verbs: ['impersonate'] });
    const owner = (await admin().request('GET', `${RBAC}/clusterroles/${MEMBER_ROLE_NAME}`)).body as Json;
    for (const name of ['flotilla:impersonation', 'flotilla:role:cluster-admin', 'flotilla:role:cluster-editor', 'flotilla:role:cluster-viewer']) {
      const binding = (await admin().request('GET', `${RBAC}/clusterrolebindings/${name}`)).body as Json;
      expect([name, binding.metadata.ownerReferences?.[0]?.uid]).toEqual([name, owner.metadata.uid]);
    }
    const viewer = (await admin().request('GET', `${RBAC}/clusterrolebindings/flotilla:role:cluster-viewer`)).body as Json;
    expect(viewer.roleRef.name).toBe('view');
    expect(viewer.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'flotilla:role:cluster-viewer' }]);
  });

  it('alice as a cluster-viewer can list pods but not delete them: the member enforces the role', async () => {
    const list = await asUser('alice', 'cluster-viewer', ['get', 'pods', '-n', 'default', '-o', 'name']);
    expect([list.code, list.stdout.trim()]).toEqual([0, 'pod/web']);
    const del = await asUser('alice', 'cluster-viewer', ['delete', 'pod', 'web', '-n', 'default']);
    expect(del.code).not.toBe(0);
    expect(del.stderr).toMatch(/pods "web" is forbidden: User "flotilla:user:alice" cannot delete resource "pods"/);
    const canI = await asUser('alice', 'cluster-editor', ['auth', 'can-i', 'delete', 'pods', '-n', 'default']);
    expect(canI.stdout.trim()).toBe('yes');
  });

  it('mallory, bound nowhere, cannot be impersonated; nor can system:masters', async () => {
    const mallory = await asUser('mallory', 'cluster-admin', ['get', '--raw', PODS]);
    expect(mallory.code).not.toBe(0);
    expect(mallory.stderr).toMatch(/users "flotilla:user:mallory" is forbidden: .*cannot impersonate resource "users"/);
    const masters = await kubectl(['--as', 'flotilla:user:alice', '--as-group', 'system:masters', 'get', '--raw', PODS], { kubeconfig: writeKubeconfig(saKubeconfig) });
    expect(masters.stderr).toMatch(/groups "system:masters" is forbidden: .*cannot impersonate resource "groups"/);
  });

  it('is idempotent: a member that matches gets no write', async () => {
    const rv = ((await admin().request('GET', `${RBAC}/clusterroles/flotilla:impersonation`)).body as Json).metadata.resourceVersion;
    expect((await syncMemberAccess(sa, { users: new Set(['alice']) })).written).toEqual([]);
    expect(((await admin().request('GET', `${RBAC}/clusterroles/flotilla:impersonation`)).body as Json).metadata.resourceVersion).toBe(rv);
  });

  it('an unbound user loses impersonation at the next sync; an empty list is the placeholder, never every name', async () => {
    expect((await syncMemberAccess(sa, { users: ['bob'] })).written).toEqual(['ClusterRole flotilla:impersonation']);
    expect((await asUser('alice', 'cluster-viewer', ['get', '--raw', PODS])).stderr).toMatch(/cannot impersonate resource "users"/);
    expect((await asUser('bob', 'cluster-viewer', ['get', 'pods', '-n', 'default'])).code).toBe(0);
    await syncMemberAccess(sa, { users: [] });
    const role = (await admin().request('GET', `${RBAC}/clusterroles/flotilla:impersonation`)).body as Json;
    expect(role.rules[0].resourceNames).toEqual([NO_USER_PLACEHOLDER]);
    expect((await asUser('bob', 'cluster-viewer', ['get', '--raw', PODS])).stderr).toMatch(/cannot impersonate resource "users"/);
  });

  it('repairs what was changed by hand: a binding to another role is replaced, a deleted binding re-created', async () => {
    await admin().request('DELETE', `${RBAC}/clusterrolebindings/flotilla:role:cluster-viewer`);
    await admin().request('POST', `${RBAC}/clusterrolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'flotilla:role:cluster-viewer', labels: { 'app.kubernetes.io/managed-by': 'flotilla' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'Group', name: 'flotilla:role:cluster-viewer' }],
    });
    await admin().request('DELETE', `${RBAC}/clusterrolebindings/flotilla:impersonation`);
    const result = await syncMemberAccess(sa, { users: ['alice'] });
    expect(result.written).toEqual(expect.arrayContaining(['deleted ClusterRoleBinding flotilla:role:cluster-viewer', 'ClusterRoleBinding flotilla:role:cluster-viewer', 'ClusterRoleBinding flotilla:impersonation']));
    expect(((await admin().request('GET', `${RBAC}/clusterrolebindings/flotilla:role:cluster-viewer`)).body as Json).roleRef.name).toBe('view');
    expect((await asUser('alice', 'cluster-viewer', ['delete', 'pod', 'web', '-n', 'default'])).stderr).toMatch(/cannot delete resource "pods"/);
  });

  it('a member whose role predates the sync refuses it (403) with the fix: rotate the credentials', async () => {
    const other = await emu.addCluster({ flavour: 'kubeadm' });
    const otherAdmin = client(other.kubeconfig('admin'));
    const setup = await createServiceAccountKubeconfig(otherAdmin, parseKubeconfig(other.kubeconfig('admin')), 'm2', { tokenTtlSeconds: 3600 });
    // The member role as ADR 0029 wrote it: no rights over RBAC objects beyond its own removal.
    const role = (await otherAdmin.request('GET', `${RBAC}/clusterroles/${MEMBER_ROLE_NAME}`)).body as Json;
    role.rules = (role.rules as Json[]).filter((r) => !(r.apiGroups as string[] | undefined)?.includes('rbac.authorization.k8s.io') || (r.verbs as string[]).every((v) => v === 'delete'));
    expect((await otherAdmin.request('PUT', `${RBAC}/clusterroles/${MEMBER_ROLE_NAME}`, role)).status).toBe(200);
    const refused = syncMemberAccess(client(setup.kubeconfig), { users: ['alice'] });
    await expect(refused).rejects.toThrow(MemberAccessRefusedError);
    await expect(syncMemberAccess(client(setup.kubeconfig), { users: ['alice'] })).rejects.toThrow(/403.*rotate the credentials \(PUT \.\.\.\/clusters\/\{name\}\/kubeconfig/);
  });

  it('needs escalate and bind: without either the member refuses the write (its escalation check)', async () => {
    for (const [verb, expected] of [
      ['escalate', /update clusterroles flotilla:impersonation \(403/],
      ['bind', /create clusterrolebindings flotilla:role:cluster-admin \(403/],
    ] as const) {
      const other = await emu.addCluster({ flavour: 'kubeadm' });
      const otherAdmin = client(other.kubeconfig('admin'));
      const setup = await createServiceAccountKubeconfig(otherAdmin, parseKubeconfig(other.kubeconfig('admin')), 'm3', { tokenTtlSeconds: 3600 });
      const role = (await otherAdmin.request('GET', `${RBAC}/clusterroles/${MEMBER_ROLE_NAME}`)).body as Json;
      role.rules = (role.rules as Json[]).filter((r) => !(r.verbs as string[]).includes(verb));
      expect((await otherAdmin.request('PUT', `${RBAC}/clusterroles/${MEMBER_ROLE_NAME}`, role)).status).toBe(200);
      await expect(syncMemberAccess(client(setup.kubeconfig), { users: ['alice'] })).rejects.toThrow(expected);
    }
  });

  it("removal's one delete of flotilla:host takes the sync's objects with it", async () => {
    expect(await removeFromMember(sa, 'host-a')).toEqual([]);
    await eventually(async () => {
      for (const p of ['clusterroles/flotilla:impersonation', 'clusterrolebindings/flotilla:impersonation', 'clusterrolebindings/flotilla:role:cluster-admin', 'clusterrolebindings/flotilla:role:cluster-viewer']) {
        expect([p, (await admin().request('GET', `${RBAC}/${p}`)).status]).toEqual([p, 404]);
      }
    });
  });
});
