import { Client } from 'pg';
import { CLUSTER_API_VERSION, Cluster, ErrorReason, FlotillaError, PatchType } from '@flotilla/domain';
import { RegistryClient } from '@flotilla/clients';
import { SecretBox } from '@flotilla/persistence';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, columnsHolding, preparePlatformEnv } from '@flotilla/testing';
import { startRegistry } from '../main';

/**
 * Issue 16, re-applying the original file of a service-account-mode cluster (real Postgres and
 * Redis, the registry over gRPC). provider-import (the credential door) replaces the kubeconfig the
 * user gave with the lasting one Flotilla made; the registry keeps a keyed fingerprint of the user's
 * kubeconfig, so a later write through the resource API presenting exactly it counts as no change
 * (the lasting kubeconfig stays). Any other kubeconfig is still refused (422). No plaintext is kept.
 */
const kubeconfig = (server: string, token: string) =>
  `apiVersion: v1\nkind: Config\nclusters:\n- name: m\n  cluster:\n    server: ${server}\nusers:\n- name: u\n  user:\n    token: ${token}\ncontexts:\n- name: m\n  context: {cluster: m, user: u}\ncurrent-context: m\n`;

const USER_TOKEN = 'USER-ORIGINAL-SECRET-5b7e21';
const USER_KC = kubeconfig('https://203.0.113.20:6443', USER_TOKEN);
const LASTING_KC = kubeconfig('https://203.0.113.20:6443', 'FLOTILLA-LASTING-SECRET-91c0aa');
const RENEWED_KC = kubeconfig('https://203.0.113.20:6443', 'FLOTILLA-RENEWED-SECRET-3d4f88');
const OTHER_KC = kubeconfig('https://203.0.113.20:6443', 'SOMEONE-ELSES-SECRET-c2a6e0');
const SA = { 'import.flotilla.io/credentials': 'service-account' };

function cluster(name: string, kc: string | undefined, annotations: Record<string, string> = SA, labels: Record<string, string> = {}): Cluster {
  return {
    apiVersion: CLUSTER_API_VERSION,
    kind: 'Cluster',
    metadata: { name, labels, annotations },
    spec: { provider: 'kubeadm', connection: { type: 'direct', ...(kc !== undefined ? { kubeconfig: kc } : {}) } },
  };
}

describe('superseded credentials: the original file of a service-account cluster, re-applied', () => {
  let platform: PlatformEnv;
  let running: RunningService;
  let pg: Client;
  let clients: RegistryClient[] = [];
  /** The registry as an internal identity sees it: the gateway writes through the resource API, provider-import is the door. */
  const as = (identity: 'gateway' | 'provider-import') => {
    const c = new RegistryClient(`127.0.0.1:${platform.ports.registryGrpc}`, platform.tokens[identity]);
    clients.push(c);
    return c;
  };
  const stored = async (name: string) => (await as('provider-import').getClusterCredentials(name)).kubeconfig;
  const superseded = async (name: string) =>
    (
      await pg.query<{ key_id: string | null; fingerprint: Buffer | null }>(
        `SELECT cc.superseded_key_id AS key_id, cc.superseded_fingerprint AS fingerprint FROM cluster_credentials cc JOIN clusters c ON c.uid = cc.cluster_uid WHERE c.name = $1 AND cc.kind = 'kubeconfig'`,
        [name],
      )
    ).rows[0];
  /** The domain error a write fails with; fails the test when it is accepted. */
  async function refusal(write: Promise<unknown>): Promise<FlotillaError> {
    try {
      await write;
    } catch (error) {
      expect(error).toBeInstanceOf(FlotillaError);
      return error as FlotillaError;
    }
    throw new Error('expected a refusal, but the write was accepted');
  }
  /** Imports `name` on the service-account path: the user's kubeconfig, then the door's lasting one. */
  async function imported(name: string): Promise<Cluster> {
    await as('gateway').createCluster(cluster(name, USER_KC));
    const created = await as('provider-import').getCluster(name);
    return as('provider-import').updateCluster({ ...created, spec: { ...created.spec, connection: { ...created.spec.connection, kubeconfig: LASTING_KC } } });
  }
  async function restart(keys: string): Promise<void> {
    for (const c of clients) c.close();
    clients = [];
    await running.stop();
    ({ running } = await startRegistry({ ...platform.env('registry'), FLOTILLA_ENCRYPTION_KEYS: keys }));
  }

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    ({ running } = await startRegistry(platform.env('registry')));
    pg = new Client({ connectionString: platform.db.url });
    await pg.connect();
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await pg?.end();
    await running?.stop();
    await platform?.cleanup();
  });

  it('accepts the superseded kubeconfig as unchanged (update, merge patch, dry run), keeping the lasting one', async () => {
    const before = await imported('sa-1');
    expect(await stored('sa-1')).toBe(LASTING_KC);

    // The file re-applied over the live object (what `kubectl replace` or an apply leaves of it): nothing else differs.
    const file = { ...before, spec: { ...before.spec, connection: { ...before.spec.connection, kubeconfig: USER_KC } } };
    const same = await as('gateway').updateCluster(file);
    expect(same.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(same.metadata.generation).toBe(before.metadata.generation);
    expect(await as('gateway').updateCluster(file, { dryRun: true })).toMatchObject({ metadata: { resourceVersion: before.metadata.resourceVersion } });

    const patched = await as('gateway').patchCluster('sa-1', PatchType.Merge, JSON.stringify({ metadata: { labels: { env: 'prod' } }, spec: { connection: { kubeconfig: USER_KC } } }));
    expect(patched.metadata.labels).toEqual({ env: 'prod' });
    expect(patched.metadata.generation).toBe(before.metadata.generation);
    expect(await stored('sa-1')).toBe(LASTING_KC);
  });

  it('still refuses any other kubeconfig with 422 on spec.connection.kubeconfig, the lasting one staying', async () => {
    const error = await refusal(as('gateway').updateCluster(cluster('sa-1', OTHER_KC, SA, { env: 'prod' })));
    expect(error.reason).toBe(ErrorReason.Invalid);
    expect(error.details.causes).toEqual([expect.objectContaining({ reason: 'FieldValueForbidden', field: 'spec.connection.kubeconfig' })]);
    expect(JSON.stringify(error)).not.toContain('SOMEONE-ELSES-SECRET');
    expect(await stored('sa-1')).toBe(LASTING_KC);
  });

  it('keeps the user\'s fingerprint across the door\'s renewals; a kubeconfig Flotilla made and replaced is not the user\'s', async () => {
    const current = await as('provider-import').getCluster('sa-1');
    await as('provider-import').updateCluster({ ...current, spec: { ...current.spec, connection: { ...current.spec.connection, kubeconfig: RENEWED_KC } } });
    expect(await stored('sa-1')).toBe(RENEWED_KC);
    await as('gateway').updateCluster(cluster('sa-1', USER_KC, SA, { env: 'prod' }));
    expect((await refusal(as('gateway').updateCluster(cluster('sa-1', LASTING_KC, SA, { env: 'prod' })))).reason).toBe(ErrorReason.Invalid);
    expect(await stored('sa-1')).toBe(RENEWED_KC);
  });

  it('keeps only a keyed fingerprint: no column of any table holds the user\'s kubeconfig or its token', async () => {
    const row = await superseded('sa-1');
    expect(row?.key_id).toBe(platform.encryptionKeys.split(':')[0]);
    expect(row?.fingerprint).toHaveLength(32);
    for (const needle of [USER_TOKEN, USER_KC, Buffer.from(USER_KC).toString('base64')]) expect((await columnsHolding(pg, needle)).hits).toEqual([]);
  });

  it('does not treat a rotated-away kubeconfig as unchanged when the door stores the user\'s own (not the service-account path)', async () => {
    await as('gateway').createCluster(cluster('plain', USER_KC, {}));
    const created = await as('provider-import').getCluster('plain');
    await as('provider-import').updateCluster({ ...created, spec: { ...created.spec, connection: { ...created.spec.connection, kubeconfig: OTHER_KC } } });
    expect(await superseded('plain')).toEqual({ key_id: null, fingerprint: null });
    expect((await refusal(as('gateway').updateCluster(cluster('plain', USER_KC, {})))).reason).toBe(ErrorReason.Invalid);

    // Leaving the service-account path: the door stores the user's new kubeconfig as given, and the old fingerprint goes.
    await imported('sa-2');
    const sa2 = await as('provider-import').getCluster('sa-2');
    await as('provider-import').updateCluster({ ...sa2, metadata: { ...sa2.metadata, annotations: {} }, spec: { ...sa2.spec, connection: { ...sa2.spec.connection, kubeconfig: OTHER_KC } } });
    expect(await superseded('sa-2')).toEqual({ key_id: null, fingerprint: null });
    expect((await refusal(as('gateway').updateCluster(cluster('sa-2', USER_KC, {})))).reason).toBe(ErrorReason.Invalid);
  });

  it('survives a key rotation: a match under the old key is fingerprinted again under the new one', async () => {
    const oldKeys = platform.encryptionKeys;
    const newKeys = `k-new:${SecretBox.generateKey()}`;
    await restart(`${newKeys},${oldKeys}`);
    await as('gateway').updateCluster(cluster('sa-1', USER_KC, SA, { env: 'prod' }));
    expect((await superseded('sa-1'))?.key_id).toBe('k-new');
    // The old key retired (after a re-encryption, which is not this test's subject: the credentials are re-sealed here by the door).
    const current = await as('provider-import').getCluster('sa-1');
    await as('provider-import').updateCluster({ ...current, spec: { ...current.spec, connection: { ...current.spec.connection, kubeconfig: LASTING_KC } } });
    await pg.query(`DELETE FROM cluster_credentials WHERE key_id <> 'k-new'`);
    await restart(newKeys);
    const again = await as('gateway').updateCluster(cluster('sa-1', USER_KC, SA, { env: 'prod' }));
    expect(again.metadata.labels).toEqual({ env: 'prod' });
    expect(await stored('sa-1')).toBe(LASTING_KC);
  }, 60_000);
});
