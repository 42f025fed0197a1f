import * as k8s from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import type { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, eventually, preparePlatformEnv } from '@flotilla/testing';
import { startProviderImport } from '../../services/provider-import/src/main';
import { startRegistry } from '../../services/registry/src/main';
import { startGateway } from '../../services/gateway/src/main';

/**
 * Issue 16, "Plain client": @kubernetes/client-node lists and watches Flotilla's clusters through
 * the gateway over HTTPS with a Flotilla token, as any generic Kubernetes client would: discovery
 * (KubernetesObjectApi finds the resource), CustomObjectsApi list with a label selector, and the
 * Watch class seeing ADDED and MODIFIED. Registry, provider-import and gateway in this process;
 * real Postgres and Redis.
 */
type Json = Record<string, any>;
const GROUP = 'cluster.kubesphere.io';
const VERSION = 'v1alpha1';
const KUBECONFIG = (name: string) =>
  `apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster:\n    server: https://127.0.0.1:1\nusers:\n- name: u\n  user:\n    token: CLIENT-NODE-SECRET-${name}-0123456789\ncontexts:\n- name: m\n  context: {cluster: m, user: u}\ncurrent-context: m\n`;
const cluster = (name: string, labels: Record<string, string>) => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'Cluster',
  metadata: { name, labels },
  spec: { provider: 'kubeadm', connection: { type: 'direct', kubeconfig: KUBECONFIG(name) } },
});

describe('@kubernetes/client-node lists and watches clusters through Flotilla (HTTPS, a Flotilla token)', () => {
  let platform: PlatformEnv;
  let registry: RunningService;
  let importer: RunningService;
  let gateway: RunningService;
  let admin: k8s.KubeConfig;
  let viewer: k8s.KubeConfig;

  const config = (token: string): k8s.KubeConfig => {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'flotilla', server: platform.gatewayUrl, caData: Buffer.from(readFileSync(platform.gatewayTls!.ca)).toString('base64'), skipTLSVerify: false }],
      users: [{ name: 'u', token }],
      contexts: [{ name: 'flotilla', cluster: 'flotilla', user: 'u' }],
      currentContext: 'flotilla',
    });
    return kc;
  };

  beforeAll(async () => {
    platform = await preparePlatformEnv({ gatewayTls: true });
    ({ running: registry } = await startRegistry(platform.env('registry')));
    ({ running: importer } = await startProviderImport(platform.env('provider-import')));
    ({ running: gateway } = await startGateway({ ...platform.env('gateway'), FLOTILLA_FEED_POLL_MS: '100' }));
    admin = config(platform.adminToken);
    const objects = k8s.KubernetesObjectApi.makeApiClient(admin);
    await objects.create(cluster('alpha', { env: 'prod' }));
    await objects.create(cluster('bravo', { env: 'dev' }));

    // A Flotilla user with a token and the fleet-viewer role.
    const custom = admin.makeApiClient(k8s.CustomObjectsApi);
    await custom.createClusterCustomObject({ group: 'iam.kubesphere.io', version: 'v1beta1', plural: 'users', body: { apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'User', metadata: { name: 'viewer' }, spec: { email: 'viewer@example.com' } } });
    const token = (await custom.createClusterCustomObject({ group: 'iam.flotilla.io', version: 'v1alpha1', plural: 'tokens', body: { apiVersion: 'iam.flotilla.io/v1alpha1', kind: 'Token', spec: { user: 'viewer', description: 'client-node' } } })) as Json;
    await custom.createClusterCustomObject({
      group: 'iam.kubesphere.io',
      version: 'v1beta1',
      plural: 'globalrolebindings',
      body: { apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'GlobalRoleBinding', metadata: { name: 'viewer' }, subjects: [{ kind: 'User', name: 'viewer' }], roleRef: { apiGroup: 'iam.kubesphere.io', kind: 'GlobalRole', name: 'fleet-viewer' } },
    });
    viewer = config(token.status.secret as string);
  }, 120_000);

  afterAll(async () => {
    await gateway?.stop();
    await importer?.stop();
    await registry?.stop();
    await platform?.cleanup();
  });

  it('lists clusters with KubernetesObjectApi (found through discovery) and CustomObjectsApi with a label selector; no credential', async () => {
    const list = await eventually(async () => {
      const l = await k8s.KubernetesObjectApi.makeApiClient(viewer).list(`${GROUP}/${VERSION}`, 'Cluster');
      expect(l.items.map((c) => c.metadata?.name).sort()).toEqual(['alpha', 'bravo']);
      return l;
    }, { timeoutMs: 10_000, intervalMs: 200 });
    expect(JSON.stringify(list)).not.toContain('CLIENT-NODE-SECRET');

    const custom = viewer.makeApiClient(k8s.CustomObjectsApi);
    const prod = (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: 'clusters', labelSelector: 'env=prod' })) as Json;
    expect(prod).toMatchObject({ kind: 'ClusterList', apiVersion: `${GROUP}/${VERSION}`, metadata: { resourceVersion: expect.any(String) } });
    expect(prod.items.map((c: Json) => c.metadata.name)).toEqual(['alpha']);
    const one = (await custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'clusters', name: 'bravo' })) as Json;
    expect(one).toMatchObject({ kind: 'Cluster', metadata: { name: 'bravo', labels: { env: 'dev' } }, spec: { connection: { type: 'direct' } } });
    expect(one.spec.connection.kubeconfig).toBeUndefined();

    // A viewer may not write, and the client sees a Kubernetes Status.
    await expect(k8s.KubernetesObjectApi.makeApiClient(viewer).create(cluster('refused', {}))).rejects.toMatchObject({ code: 403 });
    await expect(custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'clusters', name: 'absent' })).rejects.toMatchObject({ code: 404 });
  });

  it('watches clusters with the Watch class: ADDED for a new cluster, MODIFIED for a label change', async () => {
    const custom = viewer.makeApiClient(k8s.CustomObjectsApi);
    const listed = (await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: 'clusters' })) as Json;
    const seen: string[] = [];
    const objects: Json[] = [];
    let ended: unknown;
    const controller = await new k8s.Watch(viewer).watch(
      `/apis/${GROUP}/${VERSION}/clusters`,
      { resourceVersion: listed.metadata.resourceVersion, allowWatchBookmarks: true },
      (phase, obj: Json) => {
        if (phase === 'BOOKMARK') return;
        seen.push(`${phase}:${obj.metadata?.name}`);
        objects.push(obj);
      },
      (err) => (ended = err ?? 'ended'),
    );
    try {
      const writer = k8s.KubernetesObjectApi.makeApiClient(admin);
      await writer.create(cluster('charlie', { env: 'prod' }));
      await eventually(() => expect(seen).toContain('ADDED:charlie'), { timeoutMs: 10_000, intervalMs: 100 });
      await writer.patch({ apiVersion: `${GROUP}/${VERSION}`, kind: 'Cluster', metadata: { name: 'charlie', labels: { watched: 'yes' } } }, undefined, undefined, undefined, undefined, k8s.PatchStrategy.MergePatch);
      await eventually(() => expect(objects.some((o) => o.metadata?.name === 'charlie' && o.metadata?.labels?.watched === 'yes')).toBe(true), { timeoutMs: 10_000, intervalMs: 100 });
      expect(seen).toContain('MODIFIED:charlie');
      expect(seen).not.toContain('ADDED:alpha');
      expect(JSON.stringify(objects)).not.toContain('CLIENT-NODE-SECRET');
      expect(ended).toBeUndefined();
    } finally {
      controller.abort();
    }
  });
});
