/** Drives the emulator with @kubernetes/client-node (typed APIs, watch, faults). */
import * as k8s from '@kubernetes/client-node';
import { eventually } from '@flotilla/testing';
import { KubeEmulator, type ClusterHandle } from './emulator';

describe('@kubernetes/client-node against the emulator', () => {
  let emu: KubeEmulator;
  let eks: ClusterHandle;
  let kubeadm: ClusterHandle;
  const config = (c: ClusterHandle, user: 'admin' | 'readonly' | 'noaccess' = 'admin'): k8s.KubeConfig => {
    const kc = new k8s.KubeConfig();
    kc.loadFromString(c.kubeconfig(user));
    return kc;
  };

  beforeAll(async () => {
    emu = await KubeEmulator.start({ clusters: [{ name: 'eks-1', flavour: 'eks', version: 'v1.30.4' }, { name: 'kubeadm-1', flavour: 'kubeadm' }] });
    eks = emu.cluster('eks-1');
    kubeadm = emu.cluster('kubeadm-1');
  });
  afterAll(async () => emu.stop());

  test('identity: version, kube-system uid, provider traits on nodes', async () => {
    const kc = config(eks);
    const version = await kc.makeApiClient(k8s.VersionApi).getCode();
    expect(version.gitVersion).toMatch(/^v1\.30\.4-eks-[0-9a-f]{7}$/);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const ns = await core.readNamespace({ name: 'kube-system' });
    expect(ns.metadata?.uid).toBe(eks.kubeSystemUid);
    const nodes = await core.listNode();
    expect(nodes.items.length).toBeGreaterThan(0);
    expect(nodes.items[0].metadata?.labels?.['eks.amazonaws.com/nodegroup']).toBeDefined();
    expect(nodes.items[0].spec?.providerID).toMatch(/^aws:\/\/\//);
    expect(eks.kubeconfig('eks-exec')).toContain('get-token');
    const kv = await config(kubeadm).makeApiClient(k8s.CoreV1Api).readNamespacedConfigMap({ name: 'kubeadm-config', namespace: 'kube-system' });
    expect(kv.data?.ClusterConfiguration).toContain('kind: ClusterConfiguration');
  });

  test('CRUD, stale update conflict and watch with resume', async () => {
    const kc = config(kubeadm);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'w' } } });
    const events: string[] = [];
    const watch = new k8s.Watch(kc);
    const req = await watch.watch('/api/v1/namespaces/w/configmaps', { allowWatchBookmarks: true }, (type, obj: k8s.V1ConfigMap) => {
      if (obj.metadata?.name === 'a') events.push(`${type}:a`);
    }, () => undefined);
    const cm = await core.createNamespacedConfigMap({ namespace: 'w', body: { metadata: { name: 'a' }, data: { k: '1' } } });
    const updated = await core.replaceNamespacedConfigMap({ name: 'a', namespace: 'w', body: { ...cm, data: { k: '2' } } });
    expect(updated.metadata?.resourceVersion).not.toBe(cm.metadata?.resourceVersion);
    await expect(core.replaceNamespacedConfigMap({ name: 'a', namespace: 'w', body: { ...cm, data: { k: '3' } } })).rejects.toMatchObject({ code: 409 });
    await core.deleteNamespacedConfigMap({ name: 'a', namespace: 'w' });
    // DELETED is the last write: once it is in, nothing else may have come before it.
    await eventually(() => expect(events).toEqual(['ADDED:a', 'MODIFIED:a', 'DELETED:a']));
    req.abort();
    // resume from the first version: the whole history replays
    const replay: string[] = [];
    const again = await watch.watch('/api/v1/namespaces/w/configmaps', { resourceVersion: cm.metadata?.resourceVersion }, (type) => replay.push(type), () => undefined);
    await eventually(() => expect(replay).toEqual(['MODIFIED', 'DELETED']));
    again.abort();
  });

  test('faults: latency, errors, down/up, revoked credentials, health', async () => {
    const core = config(eks).makeApiClient(k8s.CoreV1Api);
    eks.setLatency(150);
    const t0 = Date.now();
    await core.listNamespace();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    eks.setLatency(0);
    const clear = eks.setErrorRate({ pathPrefix: '/api/v1/namespaces', rate: 1, code: 503 });
    await expect(core.listNamespace()).rejects.toMatchObject({ code: 503 });
    clear();
    await eks.down();
    await expect(core.listNamespace()).rejects.toThrow(/ECONNREFUSED/);
    await eks.up();
    await expect(core.listNamespace()).resolves.toBeDefined();
    eks.revokeCredential('admin');
    await expect(core.listNamespace()).rejects.toMatchObject({ code: 401 });
    eks.restoreCredential('admin');
    eks.setHealth('readyz', false);
    const health = await fetchText(eks, '/readyz?verbose');
    expect(health).toContain('readyz check failed');
    eks.setHealth('readyz', true);
  });

  test('RBAC created through the API is enforced for service accounts; token secrets are filled', async () => {
    const kc = config(kubeadm);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await core.createNamespace({ body: { metadata: { name: 'team' } } });
    await core.createNamespacedServiceAccount({ namespace: 'team', body: { metadata: { name: 'bot' } } });
    await rbac.createNamespacedRole({ namespace: 'team', body: { metadata: { name: 'cm-reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }] } });
    await rbac.createNamespacedRoleBinding({ namespace: 'team', body: { metadata: { name: 'bot' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-reader' }, subjects: [{ kind: 'ServiceAccount', name: 'bot', namespace: 'team' }] } });
    await core.createNamespacedSecret({ namespace: 'team', body: { metadata: { name: 'bot-token', annotations: { 'kubernetes.io/service-account.name': 'bot' } }, type: 'kubernetes.io/service-account-token' } });
    // the emulated token controller fills the Secret shortly after it is created
    const token = await eventually(async () => {
      const s = await core.readNamespacedSecret({ name: 'bot-token', namespace: 'team' });
      expect(s.data?.token).toBeTruthy();
      return Buffer.from(s.data?.token ?? '', 'base64').toString();
    });
    const botKc = new k8s.KubeConfig();
    botKc.loadFromClusterAndUser({ name: 'c', server: kubeadm.server, caData: Buffer.from(kubeadm.caPem).toString('base64'), skipTLSVerify: false }, { name: 'bot', token });
    const bot = botKc.makeApiClient(k8s.CoreV1Api);
    await expect(bot.listNamespacedConfigMap({ namespace: 'team' })).resolves.toBeDefined();
    await expect(bot.listNamespacedSecret({ namespace: 'team' })).rejects.toMatchObject({ code: 403 });
    await core.deleteNamespacedSecret({ name: 'bot-token', namespace: 'team' });
    await expect(bot.listNamespacedConfigMap({ namespace: 'team' })).rejects.toMatchObject({ code: 401 });
  });
});

async function fetchText(c: ClusterHandle, path: string): Promise<string> {
  const { rawRequest } = await import('./testing/http-client');
  const r = await rawRequest(c.server, c.caPem, { method: 'GET', path, token: c.tokens.admin });
  return r.text;
}
