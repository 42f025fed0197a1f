/**
 * RBAC escalation prevention and impersonation, driven by a real kubectl v1.33.9: a user may not
 * write a role granting more than they hold unless they have `escalate`, nor bind one unless they
 * have `bind`; impersonation is limited by resourceNames, for users and for groups alike.
 */
import { KubeEmulator, type ClusterHandle } from './emulator';
import { ensureKubectl, kubectl, writeKubeconfig } from './kubectl';

describe('RBAC escalation and impersonation with a real kubectl', () => {
  let emu: KubeEmulator;
  let c: ClusterHandle;
  let admin: string;
  const k = (kubeconfig: string, args: string[], input?: string): ReturnType<typeof kubectl> => kubectl(args, { kubeconfig, input, timeoutMs: 20_000 });
  const asAdmin = (args: string[], input?: string): ReturnType<typeof kubectl> => k(admin, args, input);

  beforeAll(async () => {
    await ensureKubectl();
    emu = await KubeEmulator.start();
    c = await emu.addCluster({ flavour: 'kubeadm' });
    admin = writeKubeconfig(c.kubeconfig('admin'));
    // bob may write ClusterRoles and ClusterRoleBindings, and read pods; nothing else.
    const setup = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: role-writer}
rules:
- {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles, clusterrolebindings], verbs: [create, get, update, patch]}
- {apiGroups: [""], resources: [pods], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: bob-role-writer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: role-writer}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}]
`;
    expect((await asAdmin(['apply', '-f', '-'], setup)).code).toBe(0);
  });
  afterAll(async () => emu?.stop());

  test('a user without escalate cannot create a ClusterRole granting more than they hold; with it they can', async () => {
    const denied = await asAdmin(['--as=bob', 'create', 'clusterrole', 'secret-deleter', '--verb=delete,get', '--resource=secrets']);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('clusterroles.rbac.authorization.k8s.io "secret-deleter" is forbidden: user "bob" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:');
    expect(denied.stderr).toContain('{APIGroups:[""], Resources:["secrets"], Verbs:["delete" "get"]}');
    // what bob holds, he may grant
    expect((await asAdmin(['--as=bob', 'create', 'clusterrole', 'pod-reader', '--verb=get,list', '--resource=pods'])).code).toBe(0);
    // a server-side dry run is judged the same way
    expect((await asAdmin(['--as=bob', 'create', 'clusterrole', 'x', '--verb=delete', '--resource=secrets', '--dry-run=server'])).stderr).toContain('not currently held');

    expect((await asAdmin(['create', 'clusterrole', 'escalator', '--verb=escalate', '--resource=clusterroles.rbac.authorization.k8s.io'])).code).toBe(0);
    expect((await asAdmin(['create', 'clusterrolebinding', 'bob-escalator', '--clusterrole=escalator', '--user=bob'])).code).toBe(0);
    const allowed = await asAdmin(['--as=bob', 'create', 'clusterrole', 'secret-deleter', '--verb=delete,get', '--resource=secrets']);
    expect(allowed).toMatchObject({ code: 0, stdout: 'clusterrole.rbac.authorization.k8s.io/secret-deleter created\n' });
  });

  test('a user binds a role only when holding its permissions or bind on it', async () => {
    const denied = await asAdmin(['--as=bob', 'create', 'clusterrolebinding', 'carol-deletes', '--clusterrole=secret-deleter', '--user=carol']);
    expect(denied.stderr).toContain('clusterrolebindings.rbac.authorization.k8s.io "carol-deletes" is forbidden: user "bob"');
    expect((await asAdmin(['--as=bob', 'create', 'clusterrolebinding', 'carol-reads', '--clusterrole=pod-reader', '--user=carol'])).code).toBe(0);
    expect((await asAdmin(['create', 'clusterrole', 'binder', '--verb=bind', '--resource=clusterroles.rbac.authorization.k8s.io', '--resource-name=secret-deleter'])).code).toBe(0);
    expect((await asAdmin(['create', 'clusterrolebinding', 'bob-binder', '--clusterrole=binder', '--user=bob'])).code).toBe(0);
    expect((await asAdmin(['--as=bob', 'create', 'clusterrolebinding', 'carol-deletes', '--clusterrole=secret-deleter', '--user=carol'])).code).toBe(0);
    expect((await asAdmin(['--as=carol', 'auth', 'can-i', 'delete', 'secrets'])).stdout.trim()).toBe('yes');
  });

  test('impersonation honours resourceNames for users and groups; system:masters needs that exact right', async () => {
    const rbac = `apiVersion: v1
kind: ServiceAccount
metadata: {name: imp, namespace: default}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: limited-impersonator}
rules:
- {apiGroups: [""], resources: [users], verbs: [impersonate], resourceNames: [alice]}
- {apiGroups: [""], resources: [groups], verbs: [impersonate], resourceNames: [team-a]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: imp-limited}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: limited-impersonator}
subjects: [{kind: ServiceAccount, name: imp, namespace: default}]
`;
    expect((await asAdmin(['apply', '-f', '-'], rbac)).code).toBe(0);
    const token = (await asAdmin(['-n', 'default', 'create', 'token', 'imp'])).stdout.trim();
    const imp = writeKubeconfig(c.kubeconfig('noaccess').replace(c.tokens.noaccess, token));

    // alice is allowed to be impersonated; she herself may not list namespaces (her own 403, not an impersonation one)
    const asAlice = await k(imp, ['--as=alice', '--as-group=team-a', 'get', 'namespaces']);
    expect(asAlice.stderr).toContain('User "alice" cannot list resource "namespaces"');
    // (kubectl's discovery reports a refused impersonation as "Forbidden: unknown", as with a real
    // server, so the refusals are read from a raw request, which prints the Status message)
    const asBob = await k(imp, ['--as=bob', 'get', '--raw', '/api/v1/namespaces/default/pods']);
    expect(asBob.stderr).toContain('users "bob" is forbidden: User "system:serviceaccount:default:imp" cannot impersonate resource "users" in API group "" at the cluster scope');
    const asMasters = await k(imp, ['--as=alice', '--as-group=system:masters', 'get', '--raw', '/api/v1/secrets']);
    expect(asMasters.code).not.toBe(0);
    expect(asMasters.stderr).toContain('groups "system:masters" is forbidden: User "system:serviceaccount:default:imp" cannot impersonate resource "groups"');

    // granting the exact right makes it work (and shows the refusal above was about that right)
    expect((await asAdmin(['create', 'clusterrole', 'masters-impersonator', '--verb=impersonate', '--resource=groups', '--resource-name=system:masters'])).code).toBe(0);
    expect((await asAdmin(['create', 'clusterrolebinding', 'imp-masters', '--clusterrole=masters-impersonator', '--serviceaccount=default:imp'])).code).toBe(0);
    expect((await k(imp, ['--as=alice', '--as-group=system:masters', 'get', 'secrets', '-A'])).code).toBe(0);
    expect((await k(imp, ['--as=alice', '--as-group=team-a', '--as-group=system:masters', 'auth', 'can-i', 'delete', 'nodes'])).stdout.trim()).toBe('yes');
  });
});
