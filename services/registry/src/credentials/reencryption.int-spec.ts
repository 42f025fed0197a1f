import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { CLUSTER_API_VERSION, Cluster } from '@flotilla/domain';
import { CredentialsAdminClient, RegistryClient } from '@flotilla/clients';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, eventually, freePort, preparePlatformEnv } from '@flotilla/testing';
import { startRegistry } from '../main';

const CLUSTERS = 250;
/** Rows the test itself holds FOR UPDATE during the first run: a batch of another replica, or a slow write. */
const HELD = 100;

const newKey = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const secretOf = (i: number) => `REENC-SECRET-${i}-${randomBytes(4).toString('hex')}`;
const kubeconfig = (secret: string) =>
  `apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster: {server: "https://203.0.113.10:6443"}\nusers:\n- name: u\n  user: {token: "${secret}"}\ncontexts:\n- name: m\n  context: {cluster: m, user: u}\ncurrent-context: m\n`;

function cluster(name: string, secret: string): Cluster {
  return { apiVersion: CLUSTER_API_VERSION, kind: 'Cluster', metadata: { name }, spec: { provider: 'kubeadm', connection: { type: 'direct', kubeconfig: kubeconfig(secret) } } };
}

/** flotilla_credentials_ciphertexts by key id, as Prometheus scrapes it from the registry. */
async function ciphertextMetric(httpUrl: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^flotilla_credentials_ciphertexts\{([^}]*)\} (\S+)$/gm)) out[/key_id="([^"]+)"/.exec(m[1]!)![1]!] = Number(m[2]);
  return out;
}

describe('credential re-encryption to the current key (real Postgres, over gRPC)', () => {
  let platform: PlatformEnv;
  let pg: Client;
  const secrets = new Map<string, string>();
  const k1 = () => platform.encryptionKeys;
  const k2 = newKey('k2');
  const k3 = newKey('k3');
  const started: RunningService[] = [];

  async function registry(keys: string, ports?: { http: number; grpc: number }) {
    const env = { ...platform.env('registry'), FLOTILLA_ENCRYPTION_KEYS: keys, ...(ports ? { HTTP_PORT: String(ports.http), GRPC_PORT: String(ports.grpc) } : {}) };
    const { running } = await startRegistry(env);
    started.push(running);
    const admin = new CredentialsAdminClient(running.grpcTarget, platform.internalToken);
    const clusters = new RegistryClient(running.grpcTarget, platform.internalToken);
    return {
      running,
      admin,
      clusters,
      async stop() {
        admin.close();
        clusters.close();
        await running.stop();
        started.splice(started.indexOf(running), 1);
      },
    };
  }

  const keyCounts = async () => {
    const { rows } = await pg.query<{ key_id: string; n: string }>(`SELECT key_id, count(*) AS n FROM cluster_credentials GROUP BY key_id ORDER BY key_id`);
    return Object.fromEntries(rows.map((r) => [r.key_id, Number(r.n)]));
  };

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    pg = new Client({ connectionString: platform.db.url });
    await pg.connect();
  });

  afterAll(async () => {
    for (const r of [...started]) await r.stop();
    await pg?.end();
    await platform?.cleanup();
  });

  it('rotates k1 -> k2: a run interrupted halfway resumes after a restart, and k1 can then be removed with every credential readable', async () => {
    // Credentials written under k1.
    let r = await registry(k1());
    for (let i = 0; i < CLUSTERS; i += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, CLUSTERS - i) }, (_, j) => {
          const name = `m-${i + j}`;
          secrets.set(name, secretOf(i + j));
          return r.clusters.createCluster(cluster(name, secrets.get(name)!));
        }),
      );
    }
    expect(await keyCounts()).toEqual({ k1: CLUSTERS });
    await r.stop();

    // Rotate: k2 in front. New writes use k2; old rows stay under k1 until re-encrypted.
    r = await registry(`${k2},${k1()}`);
    secrets.set('after-rotation', secretOf(-1));
    await r.clusters.createCluster(cluster('after-rotation', secrets.get('after-rotation')!));
    expect(await keyCounts()).toEqual({ k1: CLUSTERS, k2: 1 });
    expect(await ciphertextMetric(r.running.httpUrl)).toEqual({ k1: CLUSTERS, k2: 1 });

    // Hold some k1 rows, so the run stops halfway: the registry re-encrypts what it can lock, not these.
    const holder = new Client({ connectionString: platform.db.url });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query(`SELECT 1 FROM cluster_credentials WHERE key_id = 'k1' ORDER BY cluster_uid DESC, kind DESC LIMIT ${HELD} FOR UPDATE`);
    try {
      const { run, created } = await r.admin.startReencryption();
      expect(created).toBe(true);
      expect(run).toMatchObject({ targetKeyId: 'k2', phase: 'Running', rowsTotal: CLUSTERS });
      expect(run.name).toMatch(/^reencrypt-\d{14}-[0-9a-f]{4}$/);
      // A second start while one runs returns that run.
      expect(await r.admin.startReencryption()).toMatchObject({ run: { name: run.name }, created: false });

      const half = await eventually(async () => {
        const now = await r.admin.getReencryption(run.name);
        expect(now).toMatchObject({ phase: 'Running', rowsDone: CLUSTERS - HELD, rowsRemaining: HELD });
        return now;
      });
      expect(half.keys).toEqual([
        { keyId: 'k2', ciphertexts: CLUSTERS - HELD + 1, current: true, inKeyRing: true },
        { keyId: 'k1', ciphertexts: HELD, current: false, inKeyRing: true },
      ]);
      expect(await ciphertextMetric(r.running.httpUrl)).toEqual({ k1: HELD, k2: CLUSTERS - HELD + 1 });

      // Interrupt: the registry stops with the run still Running and half the rows moved.
      await r.stop();
      const { rows } = await pg.query(`SELECT phase, rows_done FROM credential_reencryptions WHERE name = $1`, [run.name]);
      expect(rows).toEqual([{ phase: 'Running', rows_done: String(CLUSTERS - HELD) }]);
      expect(await keyCounts()).toEqual({ k1: HELD, k2: CLUSTERS - HELD + 1 });
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }

    // Resume: a restarted registry finishes the run by itself; no row is counted twice.
    r = await registry(`${k2},${k1()}`);
    const { items } = await r.admin.listReencryptions();
    expect(items).toHaveLength(1);
    const done = await eventually(async () => {
      const now = await r.admin.getReencryption(items[0]!.name);
      expect(now.phase).toBe('Succeeded');
      return now;
    });
    expect(done).toMatchObject({ rowsTotal: CLUSTERS, rowsDone: CLUSTERS, rowsRemaining: 0, message: '' });
    expect(done.completedAt).toBeDefined();
    expect(await keyCounts()).toEqual({ k2: CLUSTERS + 1 });
    expect(await ciphertextMetric(r.running.httpUrl)).toEqual({ k1: 0, k2: CLUSTERS + 1 });

    // Idempotent: a new run finds nothing to do.
    const { run: again } = await r.admin.startReencryption();
    expect(again.rowsTotal).toBe(0);
    await eventually(async () => expect((await r.admin.getReencryption(again.name)).phase).toBe('Succeeded'));
    await r.stop();

    // Retire k1: a registry with only k2 reads every credential, each still bound to its own cluster.
    r = await registry(k2);
    expect(secrets.size).toBe(CLUSTERS + 1);
    for (const [name, secret] of secrets) {
      const stored = await r.clusters.getClusterCredentials(name);
      expect([name, stored.kubeconfig]).toEqual([name, kubeconfig(secret)]);
    }
    expect(await ciphertextMetric(r.running.httpUrl)).toEqual({ k2: CLUSTERS + 1 });
    await r.stop();
  });

  it('runs with two replicas on one database: every row moved once, none left behind', async () => {
    // Rotate again (k3 in front) and run two replicas on the same database.
    const a = await registry(`${k3},${k2}`);
    const b = await registry(`${k3},${k2}`, { http: await freePort(), grpc: await freePort() });
    try {
      const { run } = await b.admin.startReencryption();
      expect(run.rowsTotal).toBe(CLUSTERS + 1);
      const done = await eventually(async () => {
        const now = await a.admin.getReencryption(run.name);
        expect(now.phase).toBe('Succeeded');
        return now;
      });
      expect(done).toMatchObject({ rowsDone: CLUSTERS + 1, rowsRemaining: 0 });
      expect(await keyCounts()).toEqual({ k3: CLUSTERS + 1 });
      expect(await ciphertextMetric(a.running.httpUrl)).toEqual({ k3: CLUSTERS + 1, k2: 0 });
    } finally {
      await b.stop();
      await a.stop();
    }
  });

  it('fails a run, naming the key and the fix, when a ciphertext is under a key missing from the ring', async () => {
    const r = await registry(k3);
    try {
      const { rows } = await pg.query<{ cluster_uid: string }>(`UPDATE cluster_credentials SET key_id = 'k0' WHERE cluster_uid = (SELECT uid FROM clusters WHERE name = 'm-7') RETURNING cluster_uid`);
      const { run } = await r.admin.startReencryption();
      const failed = await eventually(async () => {
        const now = await r.admin.getReencryption(run.name);
        expect(now.phase).toBe('Failed');
        return now;
      });
      expect(failed.message).toBe(`the kubeconfig of cluster uid ${rows[0]!.cluster_uid} cannot be re-encrypted: no key "k0" in the key ring: add it back to FLOTILLA_ENCRYPTION_KEYS`);
      expect(failed.keys).toContainEqual({ keyId: 'k0', ciphertexts: 1, current: false, inKeyRing: false });
      expect(await ciphertextMetric(r.running.httpUrl)).toEqual({ k3: CLUSTERS, k0: 1 });
      expect(JSON.stringify(await r.admin.listReencryptions())).not.toContain('REENC-SECRET');
      // An unknown run is NotFound, named.
      await expect(r.admin.getReencryption('reencrypt-nope')).rejects.toMatchObject({ reason: 'NotFound', message: 'reencryptions.admin.flotilla.io "reencrypt-nope" not found' });
    } finally {
      await r.stop();
    }
  });
});
