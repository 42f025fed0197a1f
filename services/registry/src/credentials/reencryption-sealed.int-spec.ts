import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { CredentialsAdminClient, ObjectsClient } from '@flotilla/clients';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, eventually, preparePlatformEnv } from '@flotilla/testing';
import { startRegistry } from '../main';

const SECRETS = 'federatedsecrets.types.kubefed.io';
const newKey = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;

/** The key id sealing each FederatedSecret in `objects`, as stored. */
async function sealedKeys(pg: Client): Promise<Record<string, string>> {
  const { rows } = await pg.query<{ name: string; key_id: string }>(`SELECT name, object->'__sealed'->>'keyId' AS key_id FROM objects WHERE resource = $1 ORDER BY name`, [SECRETS]);
  return Object.fromEntries(rows.map((r) => [r.name, r.key_id]));
}

describe('re-encryption also moves sealed object fields (a FederatedSecret\'s data) to the current key', () => {
  let platform: PlatformEnv;
  let pg: Client;
  const running: RunningService[] = [];

  async function registry(keys: string) {
    const { running: r } = await startRegistry({ ...platform.env('registry'), FLOTILLA_ENCRYPTION_KEYS: keys });
    running.push(r);
    return r;
  }

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    pg = new Client({ connectionString: platform.db.url });
    await pg.connect();
  });

  afterAll(async () => {
    for (const r of running) await r.stop();
    await pg?.end();
    await platform?.cleanup();
  });

  it('k1 -> k2: the run re-encrypts sealed objects too, succeeds only when none is left under k1, and k1 can then be removed', async () => {
    const k1 = newKey('k1');
    const k2 = newKey('k2');
    const target = `127.0.0.1:${platform.ports.registryGrpc}`;
    const password = `SEALED-ROTATE-${randomBytes(6).toString('hex')}`;

    let r = await registry(k1);
    const gateway = new ObjectsClient(target, platform.tokens.gateway);
    await gateway.create('namespaces.core', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } }).catch(() => undefined);
    for (const name of ['db', 'api']) {
      await gateway.create(
        SECRETS,
        { apiVersion: 'types.kubefed.io/v1beta1', kind: 'FederatedSecret', metadata: { name, namespace: 'team-a' }, spec: { template: { data: { password: Buffer.from(password).toString('base64') } }, placement: { clusters: [{ name: 'm1' }] } } },
        'team-a',
      );
    }
    gateway.close();
    expect(await sealedKeys(pg)).toEqual({ api: 'k1', db: 'k1' });
    await r.stop();
    running.pop();

    r = await registry(`${k2},${k1}`);
    const admin = new CredentialsAdminClient(r.grpcTarget, platform.internalToken);
    try {
      const { run } = await admin.startReencryption();
      expect(run.rowsTotal).toBeGreaterThanOrEqual(2);
      await eventually(async () => expect((await admin.getReencryption(run.name)).phase).toBe('Succeeded'));
      const done = await admin.getReencryption(run.name);
      expect(done.rowsRemaining).toBe(0);
      expect(done.keys.find((k) => k.keyId === 'k1')?.ciphertexts).toBe(0);
    } finally {
      admin.close();
    }
    expect(await sealedKeys(pg)).toEqual({ api: 'k2', db: 'k2' });
    await r.stop();
    running.pop();

    // k1 retired: federation-sync still unseals the data, now under k2.
    await registry(k2);
    const sync = new ObjectsClient(target, platform.tokens['federation-sync']);
    try {
      const unsealed = await sync.unseal(SECRETS, 'db', 'team-a');
      expect(((unsealed.object.spec as any).template.data as Record<string, string>).password).toBe(Buffer.from(password).toString('base64'));
    } finally {
      sync.close();
    }
  });
});
