import { CLUSTER_API_VERSION, Cluster, ClusterStatus, ImportAnnotations, SERVICE_ACCOUNT_CREDENTIALS } from '@flotilla/domain';
import { loadConfig } from '@flotilla/config';
import { CLUSTER_ADMIN_BINDING_NAME, MEMBER_ROLE_ANNOTATION, MemberAddressPolicy, MemberClient, createServiceAccountKubeconfig, parseKubeconfig, writeMarker } from '@flotilla/kube';
import { ClusterHandle, KubeEmulator } from '@flotilla/kube-emulator';
import { providerImportConfigShape } from '../config';
import type { ClusterRecords } from '../import/cluster-records';
import { ImportApiService } from './import-api.service';

/** The registry as rotation uses it, in memory: what was stored is what the test reads. */
class RecordsInMemory {
  readonly kubeconfigs = new Map<string, string>();
  constructor(readonly clusters: Map<string, Cluster>) {}
  async get(name: string): Promise<Cluster> {
    const c = this.clusters.get(name);
    if (!c) throw new Error(`no cluster ${name}`);
    return structuredClone(c);
  }
  async replace(cluster: Cluster): Promise<Cluster> {
    const { kubeconfig, ...connection } = cluster.spec.connection;
    if (kubeconfig) this.kubeconfigs.set(cluster.metadata.name, kubeconfig);
    const stored = { ...cluster, spec: { ...cluster.spec, connection } };
    this.clusters.set(cluster.metadata.name, stored);
    return structuredClone(stored);
  }
  async setStatus(name: string, status: ClusterStatus): Promise<Cluster> {
    const c = { ...(await this.get(name)), status };
    this.clusters.set(name, c);
    return c;
  }
}

const policy = new MemberAddressPolicy({ allowLoopback: true });
const HOST = 'host-a';

/**
 * Rotation of a service-account cluster (issue 14, ADR 0030): the new kubeconfig sets Flotilla's
 * role up again with the annotations' current choice (so it can upgrade it), a fresh token is
 * minted, the marker lists what was made, and the stored kubeconfig is Flotilla's, never the user's.
 */
describe('ImportApiService.rotate (emulated member)', () => {
  let emu: KubeEmulator;
  let member: ClusterHandle;
  const config = loadConfig('provider-import', providerImportConfigShape, {
    FLOTILLA_INTERNAL_TOKEN: 'x'.repeat(32),
    FLOTILLA_ALLOW_LOOPBACK_MEMBERS: 'true',
    FLOTILLA_HOST_ID: HOST,
    IMPORT_CONNECT_TIMEOUT_MS: '5000',
  });
  const client = (kubeconfig: string) => new MemberClient(parseKubeconfig(kubeconfig), 5000, { policy });
  const status = async (kubeconfig: string, path: string) => {
    const c = client(kubeconfig);
    try {
      return (await c.request('GET', path)).status;
    } finally {
      c.close();
    }
  };

  const cluster = (name: string, annotations: Record<string, string>): Cluster => ({
    apiVersion: CLUSTER_API_VERSION,
    kind: 'Cluster',
    metadata: { name, uid: `00000000-0000-4000-8000-00000000000${name.length}`, resourceVersion: '7', annotations },
    spec: { connection: { type: 'direct' } },
    status: { uid: member.kubeSystemUid },
  });

  beforeAll(async () => {
    emu = await KubeEmulator.start({ clusters: 0 });
    member = await emu.addCluster({ flavour: 'kubeadm' });
  }, 60_000);
  afterAll(async () => {
    await emu?.stop();
  });

  it('a service-account cluster: rotation upgrades the member role to the chosen one and stores a minted kubeconfig, not the given one', async () => {
    // Imported with the minimal role: Flotilla's identity may not read Secrets.
    const admin = member.kubeconfig('admin');
    const first = await createServiceAccountKubeconfig(client(admin), parseKubeconfig(admin), 'sa', { tokenTtlSeconds: 3600, memberRole: 'minimal' });
    await writeMarker(client(first.kubeconfig), { hostId: HOST, clusterName: 'sa', clusterUid: 'u-sa', objects: first.objects, owner: first.owner });
    expect(await status(first.kubeconfig, '/api/v1/secrets')).toBe(403);

    // The operator now chooses cluster-admin and rotates with credentials able to grant it.
    const records = new RecordsInMemory(new Map([['sa', cluster('sa', { [ImportAnnotations.credentials]: SERVICE_ACCOUNT_CREDENTIALS, [MEMBER_ROLE_ANNOTATION]: 'cluster-admin' })]]));
    const api = new ImportApiService(records as unknown as ClusterRecords, config);
    const { cluster: rotated } = await api.rotate('sa', admin);

    const stored = records.kubeconfigs.get('sa')!;
    expect(stored).toBeDefined();
    expect(stored).not.toBe(admin);
    const user = parseKubeconfig(stored);
    expect(user.server).toBe(parseKubeconfig(admin).server);
    // The minted identity holds the upgraded role.
    expect(await status(stored, '/api/v1/secrets')).toBe(200);
    expect(rotated.status?.conditions?.find((c) => c.type === 'MemberRole')).toMatchObject({ status: 'True', reason: 'ClusterAdmin' });
    // The marker lists the binding made for the upgrade, so removal takes it away again.
    const reader = client(admin);
    const marker = await reader.request<{ data?: Record<string, string> }>('GET', '/api/v1/namespaces/flotilla-system/configmaps/flotilla-host');
    reader.close();
    expect(marker.status).toBe(200);
    expect(marker.body.data?.clusterName).toBe('sa');
    expect(marker.body.data?.objects?.split('\n')).toContain(`ClusterRoleBinding ${CLUSTER_ADMIN_BINDING_NAME}`);
  }, 60_000);

  it('a cluster on its own kubeconfig stores the given kubeconfig unchanged', async () => {
    const admin = member.kubeconfig('admin');
    const records = new RecordsInMemory(new Map([['own', cluster('own', {})]]));
    const api = new ImportApiService(records as unknown as ClusterRecords, config);
    const { cluster: rotated } = await api.rotate('own', admin);
    expect(records.kubeconfigs.get('own')).toBe(admin);
    expect(rotated.status?.conditions?.find((c) => c.type === 'MemberRole')).toBeUndefined();
  }, 60_000);
});
