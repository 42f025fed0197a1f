import { FlotillaError } from '@flotilla/domain';
import { ClusterHandle, KubeEmulator, kubectl, writeKubeconfig } from '@flotilla/kube-emulator';
import { eventually } from '@flotilla/testing';
import { parseKubeconfig } from '../kubeconfig/kubeconfig';
import { MemberClient } from '../member/member-client';
import { MemberAddressPolicy } from '../net/address-policy';
import { runImportChecks } from './import-checks';
import { MEMBER_ROLE_ANNOTATION, memberClusterRoleRules, memberNamespaceRoleRules, memberRoleChoice } from './member-role';
import { createServiceAccountKubeconfig, describeObject, moveToMemberRole, removeFromMember, writeMarker } from './member-setup';
import { requestServiceAccountToken, serviceAccountKubeconfig, tokenLifetime } from './service-account-token';

/**
 * ADR 0029 against an emulated member with a real kubectl: Flotilla's identity on the
 * service-account path holds exactly the documented rights, its tokens are short-lived and
 * renewable with themselves, and removal deletes only what the marker lists.
 */
const policy = new MemberAddressPolicy({ allowLoopback: true });
const lookups = { clusterWithUid: async () => undefined, nameTaken: async () => false };
const HOST = 'host-a';
type Json = Record<string, any>;

/** (resource, name, verb) and (url, verb) triples, the shape both RBAC rules and `kubectl auth can-i --list` reduce to. */
function triplesOfRules(rules: Json[]): Set<string> {
  const out = new Set<string>();
  for (const r of rules) {
    for (const verb of r.verbs as string[]) {
      if (r.nonResourceURLs) for (const u of r.nonResourceURLs as string[]) out.add(`url ${u} ${verb}`);
      else
        for (const g of r.apiGroups as string[])
          for (const res of r.resources as string[]) for (const n of (r.resourceNames as string[] | undefined) ?? ['']) out.add(`res ${g ? `${res}.${g}` : res} ${n} ${verb}`);
    }
  }
  return out;
}

function triplesOfCanI(stdout: string): Set<string> {
  const out = new Set<string>();
  const list = (s: string) => s.replace(/^\[|\]$/g, '').split(' ').filter(Boolean);
  for (const line of stdout.split('\n').slice(1)) {
    if (!line.trim()) continue;
    const cols = line.trim().split(/\s{2,}/);
    if (line.startsWith(' ')) {
      // a non-resource row: URL, names, verbs
      const [urls, , verbs] = cols;
      for (const u of list(urls!)) for (const v of list(verbs!)) out.add(`url ${u} ${v}`);
    } else {
      const [resource, , names, verbs] = cols;
      for (const n of list(names!).length ? list(names!) : ['']) for (const v of list(verbs!)) out.add(`res ${resource} ${n} ${v}`);
    }
  }
  return out;
}

const minus = (a: Set<string>, b: Set<string>) => new Set([...a].filter((x) => !b.has(x)));

describe('member role, tokens and careful removal (ADR 0029, emulator + kubectl)', () => {
  let emu: KubeEmulator;
  const client = (kubeconfig: string) => new MemberClient(parseKubeconfig(kubeconfig), 5000, { policy });
  const adminOf = (m: ClusterHandle) => client(m.kubeconfig('admin'));
  const status = async (c: MemberClient, path: string) => (await c.request('GET', path)).status;

  beforeAll(async () => {
    emu = await KubeEmulator.start({ clusters: 0 });
  });
  afterAll(async () => {
    await emu?.stop();
  });

  describe('the service-account path', () => {
    let member: ClusterHandle;
    let saKubeconfig: string;
    let expiresAt: number;

    beforeAll(async () => {
      member = await emu.addCluster({ flavour: 'kubeadm', nodes: [{ name: 'n1', zone: 'z1', region: 'r1' }] });
      const setup = await createServiceAccountKubeconfig(adminOf(member), parseKubeconfig(member.kubeconfig('admin')), 'm1', { tokenTtlSeconds: 3600 });
      saKubeconfig = setup.kubeconfig;
      expiresAt = setup.expiresAt;
      await writeMarker(client(saKubeconfig), { hostId: HOST, clusterName: 'm1', clusterUid: 'u1', objects: setup.objects, owner: setup.owner });
    });

    it('`kubectl auth can-i --list` as Flotilla shows exactly the documented rules, beyond what every service account gets', async () => {
      // The baseline: a service account bound to nothing, in the same namespace.
      const admin = adminOf(member);
      await admin.request('POST', '/api/v1/namespaces/flotilla-system/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'nobody' } });
      const nobody = await admin.request('POST', '/api/v1/namespaces/flotilla-system/serviceaccounts/nobody/token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} });
      const nobodyKc = writeKubeconfig(serviceAccountKubeconfig(parseKubeconfig(member.kubeconfig('admin')), 'm1', (nobody.body as Json).status.token));
      const flotillaKc = writeKubeconfig(saKubeconfig);
      // The rules of docs/security.md ("The member role"), written out: widening the role fails this test.
      const clusterWide = [
        'res namespaces kube-system get',
        'res namespaces flotilla-system get',
        'res namespaces flotilla-system delete',
        'res nodes  list',
        'url /healthz get',
        'url /livez get',
        'url /readyz get',
        'url /version get',
        'res clusterrolebindings.rbac.authorization.k8s.io flotilla:host delete',
        'res clusterrolebindings.rbac.authorization.k8s.io flotilla-host delete',
        'res clusterroles.rbac.authorization.k8s.io flotilla:host delete',
        // Keeping the proxy's impersonation in sync (ADR 0030): its own objects by name, create
        // (RBAC cannot limit it by name), bind on the role groups' targets, escalate on one role.
        'res clusterroles.rbac.authorization.k8s.io flotilla:host get',
        ...['get', 'update', 'patch', 'escalate'].map((v) => `res clusterroles.rbac.authorization.k8s.io flotilla:impersonation ${v}`),
        ...['flotilla:impersonation', 'flotilla:role:cluster-admin', 'flotilla:role:cluster-editor', 'flotilla:role:cluster-viewer'].flatMap((n) =>
          ['get', 'update', 'patch', 'delete'].map((v) => `res clusterrolebindings.rbac.authorization.k8s.io ${n} ${v}`),
        ),
        'res clusterroles.rbac.authorization.k8s.io  create',
        'res clusterrolebindings.rbac.authorization.k8s.io  create',
        ...['admin', 'edit', 'view'].map((n) => `res clusterroles.rbac.authorization.k8s.io ${n} bind`),
      ];
      const inNamespace = [
        'res configmaps flotilla-host get',
        'res configmaps flotilla-host update',
        'res configmaps flotilla-host delete',
        'res configmaps  create',
        'res serviceaccounts/token flotilla-host create',
        'res serviceaccounts flotilla-host delete',
        'res roles.rbac.authorization.k8s.io flotilla:host delete',
        'res rolebindings.rbac.authorization.k8s.io flotilla:host delete',
      ];
      expect(triplesOfRules(memberClusterRoleRules())).toEqual(new Set(clusterWide));
      expect(triplesOfRules(memberNamespaceRoleRules())).toEqual(new Set(inNamespace));
      for (const [ns, documented] of [
        ['default', new Set(clusterWide)],
        ['flotilla-system', new Set([...clusterWide, ...inNamespace])],
      ] as const) {
        const flotilla = await kubectl(['auth', 'can-i', '--list', '-n', ns], { kubeconfig: flotillaKc });
        const baseline = await kubectl(['auth', 'can-i', '--list', '-n', ns], { kubeconfig: nobodyKc });
        expect(flotilla.code).toBe(0);
        const held = triplesOfCanI(flotilla.stdout);
        const defaults = triplesOfCanI(baseline.stdout);
        expect([...minus(held, defaults)].sort()).toEqual([...minus(documented, defaults)].sort());
        expect(held.has('res * * *')).toBe(false);
      }
    });

    it('reads what import and health need, and nothing else', async () => {
      const sa = client(saKubeconfig);
      for (const p of ['/readyz', '/livez', '/healthz', '/version', '/api/v1/namespaces/kube-system', '/api/v1/nodes?limit=1', '/api/v1/namespaces/flotilla-system/configmaps/flotilla-host']) {
        expect([p, await status(sa, p)]).toEqual([p, 200]);
      }
      for (const p of ['/api/v1/secrets', '/api/v1/namespaces/default', '/api/v1/namespaces/kube-system/configmaps', '/apis/rbac.authorization.k8s.io/v1/clusterroles']) {
        expect([p, await status(sa, p)]).toEqual([p, 403]);
      }
    });

    it('impersonates no one through the member role itself (ADR 0030: ClusterRole flotilla:impersonation, kept in sync, names the users); system:masters is refused by the member', async () => {
      const kc = writeKubeconfig(saKubeconfig);
      // The fixed names of ADR 0029 are no longer granted.
      const asUser = await kubectl(['--as', 'flotilla:user', '--as-group', 'flotilla:users', 'get', '--raw', '/version'], { kubeconfig: kc });
      expect(asUser.code).not.toBe(0);
      expect(asUser.stderr).toMatch(/users "flotilla:user" is forbidden: .*cannot impersonate resource "users"/);
      const masters = await kubectl(['--as', 'system:admin', '--as-group', 'system:masters', 'get', '--raw', '/api/v1/namespaces'], { kubeconfig: kc });
      expect(masters.code).not.toBe(0);
      expect(masters.stderr).toMatch(/users "system:admin" is forbidden: .*cannot impersonate resource "users"/);
      const otherUser = await kubectl(['--as', 'kubernetes-admin', 'get', '--raw', '/api/v1/namespaces'], { kubeconfig: kc });
      expect(otherUser.stderr).toMatch(/cannot impersonate resource "users"/);
    });

    it('holds a TokenRequest token that expires, renews it with itself, and the old one then stops working', async () => {
      const token = parseKubeconfig(saKubeconfig).auth as { token: string };
      const life = tokenLifetime(token.token)!;
      expect(life.expiresAt).toBe(expiresAt);
      expect(life.expiresAt - life.issuedAt).toBe(3600 * 1000);
      expect(await status(adminOf(member), '/api/v1/namespaces/flotilla-system/secrets/flotilla-host-token')).toBe(404);

      const sa = client(saKubeconfig);
      await expect(requestServiceAccountToken(sa, 599)).rejects.toThrow(/answered 422; .*may not specify a duration less than 10 minutes/);
      member.advanceClock(50 * 60_000); // 83 % of the old token's life
      const renewed = await requestServiceAccountToken(sa, 3600);
      member.advanceClock(15 * 60_000); // past the old token's expiry
      expect(await status(sa, '/api/v1/namespaces/kube-system')).toBe(401);
      const next = client(serviceAccountKubeconfig(parseKubeconfig(saKubeconfig), 'm1', renewed.token));
      expect(await status(next, '/api/v1/namespaces/kube-system')).toBe(200);
      saKubeconfig = serviceAccountKubeconfig(parseKubeconfig(saKubeconfig), 'm1', renewed.token);
    });

    it('removal with its own credentials deletes what the marker lists, and only that', async () => {
      const admin = adminOf(member);
      // Something of the user's in Flotilla's cluster scope and with a similar name stays.
      await admin.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'flotilla:viewer' }, rules: [] });
      expect(await removeFromMember(client(saKubeconfig), HOST)).toEqual([]);
      await eventually(async () => {
        for (const p of ['/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/flotilla:host', '/apis/rbac.authorization.k8s.io/v1/clusterroles/flotilla:host', '/api/v1/namespaces/flotilla-system']) {
          expect([p, await status(admin, p)]).toEqual([p, 404]);
        }
      });
      expect(await status(admin, '/apis/rbac.authorization.k8s.io/v1/clusterroles/flotilla:viewer')).toBe(200);
    });
  });

  describe('careful removal: without a readable marker of this host, nothing is deleted and what is left is reported', () => {
    async function imported(): Promise<{ member: ClusterHandle; sa: MemberClient }> {
      const member = await emu.addCluster({ flavour: 'kubeadm' });
      const setup = await createServiceAccountKubeconfig(adminOf(member), parseKubeconfig(member.kubeconfig('admin')), 'm', { tokenTtlSeconds: 3600 });
      await writeMarker(client(setup.kubeconfig), { hostId: HOST, clusterName: 'm', clusterUid: 'u', objects: setup.objects, owner: setup.owner });
      return { member, sa: client(setup.kubeconfig) };
    }
    const everythingStays = async (member: ClusterHandle) => {
      const admin = adminOf(member);
      for (const p of ['/api/v1/namespaces/flotilla-system', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/flotilla:host', '/apis/rbac.authorization.k8s.io/v1/clusterroles/flotilla:host', '/api/v1/namespaces/flotilla-system/serviceaccounts/flotilla-host']) {
        expect([p, await status(admin, p)]).toEqual([p, 200]);
      }
    };

    it('a marker naming another host', async () => {
      const { member, sa } = await imported();
      const orphans = await removeFromMember(sa, 'host-b');
      expect(orphans.map((o) => `${o.kind} ${o.name}`)).toEqual(expect.arrayContaining(['Namespace flotilla-system', 'ClusterRoleBinding flotilla:host', 'ConfigMap flotilla-host']));
      expect(orphans[0]!.reason).toMatch(/the marker names another host \("host-a"\)/);
      await everythingStays(member);
    });

    it('a missing marker', async () => {
      const { member } = await imported();
      const admin = adminOf(member);
      expect((await admin.request('DELETE', '/api/v1/namespaces/flotilla-system/configmaps/flotilla-host')).status).toBe(200);
      const orphans = await removeFromMember(admin, HOST);
      expect(orphans.map((o) => `${o.kind} ${o.name}`)).toEqual([
        'Namespace flotilla-system',
        'ClusterRoleBinding flotilla:host',
        'ClusterRole flotilla:host',
        'ServiceAccount flotilla-host',
        'Role flotilla:host',
        'RoleBinding flotilla:host',
      ]);
      expect(orphans[0]!.reason).toMatch(/marker ConfigMap flotilla-system\/flotilla-host is missing.*not deleted/);
      await everythingStays(member);
    });

    it('a marker that cannot be read', async () => {
      const { member, sa } = await imported();
      const clear = member.setErrorRate({ regex: '/configmaps/flotilla-host$', rate: 1, code: 500 });
      const orphans = await removeFromMember(sa, HOST);
      clear();
      expect(orphans.length).toBeGreaterThan(0);
      expect(orphans[0]!.reason).toMatch(/could not be read \(500\)/);
      await everythingStays(member);
    });

    it("a namespace Flotilla did not create stays; only the marker goes", async () => {
      const member = await emu.addCluster({ flavour: 'kubeadm' });
      const admin = adminOf(member);
      await admin.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'flotilla-system' } });
      await admin.request('POST', '/api/v1/namespaces/flotilla-system/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'users-own' } });
      await writeMarker(admin, { hostId: HOST, clusterName: 'k', clusterUid: 'u' });
      expect(await removeFromMember(admin, HOST)).toEqual([]);
      expect(await status(admin, '/api/v1/namespaces/flotilla-system/configmaps/flotilla-host')).toBe(404);
      expect(await status(admin, '/api/v1/namespaces/flotilla-system')).toBe(200);
      expect(await status(admin, '/api/v1/namespaces/flotilla-system/configmaps/users-own')).toBe(200);
    });
  });

  describe('wider rights only by choice, and the migration of earlier imports', () => {
    it('binds cluster-admin only with the annotation, records it in the marker, and removal takes it away', async () => {
      expect(memberRoleChoice({})).toBe('minimal');
      expect(memberRoleChoice({ [MEMBER_ROLE_ANNOTATION]: 'cluster-admin' })).toBe('cluster-admin');
      expect(() => memberRoleChoice({ [MEMBER_ROLE_ANNOTATION]: 'root' })).toThrow(FlotillaError);
      expect(() => memberRoleChoice({ [MEMBER_ROLE_ANNOTATION]: 'root' })).toThrow(/metadata\.annotations\[import\.flotilla\.io\/member-role\]: "root" is not a member role: use "minimal" \(the default\) or "cluster-admin"/);

      const member = await emu.addCluster({ flavour: 'kubeadm' });
      const setup = await createServiceAccountKubeconfig(adminOf(member), parseKubeconfig(member.kubeconfig('admin')), 'm', { memberRole: 'cluster-admin' });
      const sa = client(setup.kubeconfig);
      expect(await status(sa, '/api/v1/secrets')).toBe(200);
      await writeMarker(sa, { hostId: HOST, clusterName: 'm', clusterUid: 'u', objects: setup.objects, owner: setup.owner });
      const marker = await sa.request('GET', '/api/v1/namespaces/flotilla-system/configmaps/flotilla-host');
      expect((marker.body as Json).data.objects.split('\n')).toContain('ClusterRoleBinding flotilla-host');
      expect(await removeFromMember(sa, HOST)).toEqual([]);
      await eventually(async () => expect(await status(adminOf(member), '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/flotilla-host')).toBe(404));
    });

    it('moves an identity bound to cluster-admin by an earlier import to the member role, with its own credential', async () => {
      const member = await emu.addCluster({ flavour: 'kubeadm' });
      const admin = adminOf(member);
      const labels = { 'app.kubernetes.io/managed-by': 'flotilla' };
      // What imports before ADR 0029 left: the identity, a cluster-admin binding, a legacy token Secret.
      await admin.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'flotilla-system', labels } });
      await admin.request('POST', '/api/v1/namespaces/flotilla-system/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'flotilla-host', labels } });
      await admin.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'flotilla-host', labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'flotilla-host', namespace: 'flotilla-system' }],
      });
      await admin.request('POST', '/api/v1/namespaces/flotilla-system/secrets', {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/service-account-token',
        metadata: { name: 'flotilla-host-token', labels, annotations: { 'kubernetes.io/service-account.name': 'flotilla-host' } },
      });
      const legacy = await eventually(async () => {
        const s = await admin.request('GET', '/api/v1/namespaces/flotilla-system/secrets/flotilla-host-token');
        expect((s.body as Json).data?.token).toBeDefined();
        return Buffer.from((s.body as Json).data.token as string, 'base64').toString('utf8');
      });
      expect(tokenLifetime(legacy)).toBeUndefined(); // it never expires
      const old = client(serviceAccountKubeconfig(parseKubeconfig(member.kubeconfig('admin')), 'm', legacy));
      expect(await status(old, '/api/v1/secrets')).toBe(200);

      const moved = await moveToMemberRole(old, { tokenTtlSeconds: 3600, connect: (token) => client(serviceAccountKubeconfig(parseKubeconfig(member.kubeconfig('admin')), 'm', token)) });
      expect(await status(old, '/api/v1/namespaces/kube-system')).toBe(401); // the legacy token went with its Secret
      expect(await status(admin, '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/flotilla-host')).toBe(404);
      expect(await status(admin, '/api/v1/namespaces/flotilla-system/secrets/flotilla-host-token')).toBe(404);
      expect(moved.objects.map(describeObject)).toEqual(expect.arrayContaining(['ClusterRole flotilla:host', 'ClusterRoleBinding flotilla:host', 'Namespace flotilla-system', 'ServiceAccount flotilla-system/flotilla-host']));
      const now = client(serviceAccountKubeconfig(parseKubeconfig(member.kubeconfig('admin')), 'm', moved.minted.token));
      expect(await status(now, '/api/v1/secrets')).toBe(403);
      expect(await status(now, '/api/v1/namespaces/kube-system')).toBe(200);
    });
  });

  describe('excess rights of a user-supplied kubeconfig', () => {
    it('warns, with the fix, when the credential may do anything; not for a narrower one', async () => {
      const member = await emu.addCluster({ flavour: 'kubeadm' });
      const facts = await runImportChecks({ name: 'x', kubeconfig: member.kubeconfig('admin'), hostId: HOST, policy }, lookups);
      expect(facts.warnings).toEqual([expect.stringMatching(/may do anything in the member .*set annotation import\.flotilla\.io\/credentials=service-account/)]);

      const admin = adminOf(member);
      await admin.request('POST', '/api/v1/namespaces/default/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'importer' } });
      await admin.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'importer' },
        rules: [
          { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'create'] },
          { apiGroups: [''], resources: ['nodes'], verbs: ['list'] },
          { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'update', 'delete'] },
        ],
      });
      await admin.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'importer' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'importer' },
        subjects: [{ kind: 'ServiceAccount', name: 'importer', namespace: 'default' }],
      });
      const t = await admin.request('POST', '/api/v1/namespaces/default/serviceaccounts/importer/token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} });
      const narrow = serviceAccountKubeconfig(parseKubeconfig(member.kubeconfig('admin')), 'x', (t.body as Json).status.token);
      const ok = await runImportChecks({ name: 'x', kubeconfig: narrow, hostId: HOST, policy }, lookups);
      expect(ok.warnings).toEqual([]);
    });
  });
});
