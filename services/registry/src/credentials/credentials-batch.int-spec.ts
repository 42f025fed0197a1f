import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { CLUSTER_API_VERSION, Cluster, ErrorReason } from '@flotilla/domain';
import { CredentialsReaderClient, RegistryClient } from '@flotilla/clients';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, preparePlatformEnv } from '@flotilla/testing';
import { startRegistry } from '../main';

const CLUSTERS = 300;

const secretOf = (i: number) => `BATCH-SECRET-${i}-${randomBytes(4).toString('hex')}`;
const kubeconfig = (secret: string) =>
  `apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster: {server: "https://203.0.113.10:6443"}\nusers:\n- name: u\n  user: {token: "${secret}"}\ncontexts:\n- name: m\n  context: {cluster: m, user: u}\ncurrent-context: m\n`;

function cluster(name: string, secret: string): Cluster {
  return { apiVersion: CLUSTER_API_VERSION, kind: 'Cluster', metadata: { name }, spec: { provider: 'kubeadm', connection: { type: 'direct', kubeconfig: kubeconfig(secret) } } };
}

describe('BatchGetClusterCredentials (real Postgres, over gRPC)', () => {
  let platform: PlatformEnv;
  let running: RunningService;
  let pg: Client;
  let clusters: RegistryClient;
  let reader: CredentialsReaderClient;
  const secrets = new Map<string, string>();

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    ({ running } = await startRegistry(platform.env('registry')));
    pg = new Client({ connectionString: platform.db.url });
    await pg.connect();
    clusters = new RegistryClient(running.grpcTarget, platform.tokens.gateway);
    // health-probe's own identity: the one the caller table lets read credentials in batches.
    reader = new CredentialsReaderClient(running.grpcTarget, platform.tokens['health-probe']);
    for (let i = 0; i < CLUSTERS; i += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, CLUSTERS - i) }, (_, j) => {
          const name = `batch-${i + j}`;
          const secret = secretOf(i + j);
          secrets.set(name, secret);
          return clusters.createCluster(cluster(name, secret));
        }),
      );
    }
  });

  afterAll(async () => {
    reader?.close();
    clusters?.close();
    await running?.stop();
    await pg?.end();
    await platform?.cleanup();
  });

  it('returns hundreds of clusters decrypted in one call, each with its own secret, and names the missing ones', async () => {
    const names = [...secrets.keys(), 'no-such-cluster'];
    const { items, missing } = await reader.batchGet(names);
    expect(items).toHaveLength(CLUSTERS);
    for (const item of items) {
      expect(item.kubeconfig).toBe(kubeconfig(secrets.get(item.name)!));
      expect(item.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(item.error).toBeUndefined();
    }
    expect(missing).toEqual(['no-such-cluster']);
  });

  it('reads 1,000 names in one query: the registry answers them well within one probe interval', async () => {
    const names = [...secrets.keys(), ...Array.from({ length: 1000 - CLUSTERS }, (_, i) => `absent-${i}`)];
    const started = Date.now();
    const { items, missing } = await reader.batchGet(names);
    expect(items).toHaveLength(CLUSTERS);
    expect(missing).toHaveLength(1000 - CLUSTERS);
    // A generous bound on a shared machine; one call per cluster took seconds for this many.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a cluster whose ciphertext does not authenticate comes back with its reason, and the rest of the batch is still served', async () => {
    const { rows } = await pg.query<{ uid: string }>(`SELECT uid FROM clusters WHERE name = 'batch-7'`);
    // Flip one byte of the sealed body: AES-GCM refuses it.
    await pg.query(`UPDATE cluster_credentials SET ciphertext = overlay(ciphertext placing '\\x00'::bytea from 40 for 1) WHERE cluster_uid = $1`, [rows[0]!.uid]);
    const { items } = await reader.batchGet(['batch-6', 'batch-7', 'batch-8']);
    const broken = items.find((i) => i.name === 'batch-7')!;
    expect(broken.error).toMatch(/does not authenticate/);
    expect(broken.kubeconfig).toBeUndefined();
    expect(JSON.stringify(broken)).not.toContain('BATCH-SECRET');
    expect(items.filter((i) => !i.error).map((i) => i.name).sort()).toEqual(['batch-6', 'batch-8']);
  });

  it('refuses more than 1,000 names a call with a BadRequest naming the field', async () => {
    // The client splits large requests itself; a raw call of 1,001 names shows the server's bound.
    const raw = reader as unknown as { grpc: { unary: (m: unknown, r: unknown) => Promise<unknown>; service: { batchGetClusterCredentials: unknown } } };
    await expect(raw.grpc.unary(raw.grpc.service.batchGetClusterCredentials, { names: Array.from({ length: 1001 }, (_, i) => `n-${i}`) })).rejects.toMatchObject({
      reason: ErrorReason.BadRequest,
      message: expect.stringContaining('names: at most 1000 names a call'),
    });
  });

  it('is refused to the gateway: only health-probe reads credentials in batches', async () => {
    const asGateway = new CredentialsReaderClient(running.grpcTarget, platform.tokens.gateway);
    try {
      await expect(asGateway.batchGet(['batch-1'])).rejects.toMatchObject({ reason: ErrorReason.Forbidden });
    } finally {
      asGateway.close();
    }
  });
});
