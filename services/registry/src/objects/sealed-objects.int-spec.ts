import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { ErrorReason } from '@flotilla/domain';
import { ObjectsClient } from '@flotilla/clients';
import type { StoredObject } from '@flotilla/clients';
import { SecretBox, UnitOfWork } from '@flotilla/persistence';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, columnsHolding, preparePlatformEnv, reasonOf } from '@flotilla/testing';
import { startRegistry } from '../main';
import { ObjectSealer } from './object-sealer';
import { ObjectsRepository } from './objects.repository';
import { LAST_APPLIED } from './sealed-fields';

const SECRETS = 'federatedsecrets.types.kubefed.io';
const NS = 'team-a';

/** A plaintext no other test writes, and its base64 (what `data` holds). */
const plaintext = (tag: string) => `SEALED-${tag}-${randomBytes(8).toString('hex')}`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

function fedSecret(name: string, template: Record<string, unknown>, metadata: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: 'types.kubefed.io/v1beta1',
    kind: 'FederatedSecret',
    metadata: { name, namespace: NS, ...metadata },
    spec: { template: { type: 'Opaque', ...template }, placement: { clusters: [{ name: 'm1' }] }, ...extra },
  };
}

const meta = (o: StoredObject) => o.object.metadata as Record<string, unknown>;
const template = (o: StoredObject) => (o.object.spec as Record<string, unknown>).template as Record<string, unknown>;

describe('sealed fields of the object store: a FederatedSecret\'s data (real Postgres, over gRPC)', () => {
  let platform: PlatformEnv;
  let running: RunningService;
  let pg: Client;
  let gateway: ObjectsClient;
  let sync: ObjectsClient;
  let importer: ObjectsClient;

  /** Every column of every table holding `needle`, plus the two store tables searched directly (as text). */
  async function whereStored(needle: string): Promise<string[]> {
    const { hits } = await columnsHolding(pg, needle);
    const { rows } = await pg.query<{ t: string }>(
      `SELECT 'objects' AS t FROM objects WHERE strpos(object::text, $1) > 0 UNION ALL SELECT 'object_changes' FROM object_changes WHERE strpos(object::text, $1) > 0`,
      [needle],
    );
    return [...hits, ...rows.map((r) => r.t)];
  }

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    ({ running } = await startRegistry(platform.env('registry')));
    pg = new Client({ connectionString: platform.db.url });
    await pg.connect();
    const target = `127.0.0.1:${platform.ports.registryGrpc}`;
    gateway = new ObjectsClient(target, platform.tokens.gateway);
    sync = new ObjectsClient(target, platform.tokens['federation-sync']);
    importer = new ObjectsClient(target, platform.tokens['provider-import']);
  });

  afterAll(async () => {
    for (const c of [gateway, sync, importer]) c?.close();
    await pg?.end();
    await running?.stop();
    await platform?.cleanup();
  });

  it('never stores the plaintext in objects or object_changes, never returns it from a read, and unseals it for federation-sync only', async () => {
    const [a, b] = [plaintext('data'), plaintext('string')];
    const created = await gateway.create(SECRETS, fedSecret('db', { data: { password: b64(a) }, stringData: { token: b } }));
    expect(template(created)).toEqual({ type: 'Opaque' });
    expect(created.object).not.toHaveProperty('__sealed');
    const updated = await sync.update(SECRETS, { ...created.object, status: { observedGeneration: 1 } });
    expect(meta(updated).generation).toBe(1);

    for (const needle of [a, b, b64(a), b64(b)]) expect(await whereStored(needle)).toEqual([]);
    // Sealed, in the row of `objects` only: the change log never holds it.
    const { rows } = await pg.query<{ t: string; sealed: boolean }>(
      `SELECT 'objects' AS t, object ? '__sealed' AS sealed FROM objects WHERE resource = $1 AND name = 'db'
       UNION ALL SELECT 'object_changes', object ? '__sealed' FROM object_changes WHERE resource = $1 AND name = 'db'`,
      [SECRETS],
    );
    expect(rows.map((r) => `${r.t}:${r.sealed}`).sort()).toEqual(['object_changes:false', 'object_changes:false', 'objects:true']);

    const reads: StoredObject[] = [
      await gateway.get(SECRETS, 'db', NS),
      ...(await gateway.list(SECRETS, { namespace: NS })).items,
      ...(await sync.changes('0', { resources: [SECRETS] })).changes.map((c) => c.object),
    ];
    expect(reads.length).toBeGreaterThanOrEqual(4);
    for (const r of reads) {
      expect(JSON.stringify(r)).not.toContain(a);
      expect(JSON.stringify(r)).not.toContain(b64(a));
      expect(JSON.stringify(r)).not.toContain(b);
      expect(r.object).not.toHaveProperty('__sealed');
    }

    const unsealed = await sync.unseal(SECRETS, 'db', NS);
    expect(template(unsealed)).toEqual({ type: 'Opaque', data: { password: b64(a) }, stringData: { token: b } });
    expect(unsealed.resourceVersion).toBe(updated.resourceVersion);
    expect(unsealed.object.status).toEqual({ observedGeneration: 1 });
    expect(unsealed.object).not.toHaveProperty('__sealed');
    expect(await reasonOf(gateway.unseal(SECRETS, 'db', NS))).toBe(ErrorReason.Forbidden);
    expect(await reasonOf(importer.unseal(SECRETS, 'db', NS))).toBe(ErrorReason.Forbidden);
    // Only resources with sealed fields; NotFound for one that is not there.
    await gateway.create('federatedconfigmaps.types.kubefed.io', { metadata: { name: 'cm', namespace: NS }, spec: { template: { data: { a: 'b' } } } });
    expect(await reasonOf(sync.unseal('federatedconfigmaps.types.kubefed.io', 'cm', NS))).toBe(ErrorReason.BadRequest);
    expect(await reasonOf(sync.unseal(SECRETS, 'nope', NS))).toBe(ErrorReason.NotFound);

    // The DELETED change and the answer to the delete carry no sealed part either.
    const gone = await sync.delete(SECRETS, 'db', NS);
    expect(gone.object).not.toHaveProperty('__sealed');
    const { rows: after } = await pg.query(`SELECT 1 FROM object_changes WHERE resource = $1 AND object ? '__sealed'`, [SECRETS]);
    expect(after).toEqual([]);
  });

  it('keeps the stored data when a write leaves data and stringData out, replaces it when given, clears it with data: {}, and moves generation only when the plaintext changes', async () => {
    const [one, two] = [plaintext('one'), plaintext('two')];
    const created = await gateway.create(SECRETS, fedSecret('api', { data: { key: b64(one) } }));
    expect(meta(created).generation).toBe(1);

    // What a GET shows, written back (kubectl edit, the gateway keeping status): nothing changes.
    const relabelled = await gateway.update(SECRETS, { ...created.object, metadata: { ...meta(created), labels: { a: 'b' } } });
    expect(meta(relabelled).generation).toBe(1);
    expect(template(await sync.unseal(SECRETS, 'api', NS)).data).toEqual({ key: b64(one) });

    // The same plaintext again (another ciphertext would be drawn): the generation stays.
    const same = await gateway.update(SECRETS, fedSecret('api', { data: { key: b64(one) } }, { labels: { a: 'b' } }));
    expect(meta(same).generation).toBe(1);

    // New plaintext: replaced, generation moves; the given fields replace both (stringData only: data goes).
    const changed = await gateway.update(SECRETS, fedSecret('api', { stringData: { key: two } }));
    expect(meta(changed).generation).toBe(2);
    expect(template(await sync.unseal(SECRETS, 'api', NS))).toEqual({ type: 'Opaque', stringData: { key: two } });
    expect(await whereStored(two)).toEqual([]);

    // A change outside the sealed part still moves the generation, and keeps the data.
    const retyped = await gateway.update(SECRETS, fedSecret('api', { type: 'kubernetes.io/tls' }));
    expect(meta(retyped).generation).toBe(3);
    expect(template(await sync.unseal(SECRETS, 'api', NS)).stringData).toEqual({ key: two });

    // data: {} clears.
    const cleared = await gateway.update(SECRETS, fedSecret('api', { type: 'kubernetes.io/tls', data: {} }));
    expect(meta(cleared).generation).toBe(4);
    expect(template(await sync.unseal(SECRETS, 'api', NS))).toEqual({ type: 'kubernetes.io/tls', data: {} });
    // Cleared, then cleared again: nothing for a member to see changed.
    expect(meta(await gateway.update(SECRETS, fedSecret('api', { type: 'kubernetes.io/tls', stringData: {} }))).generation).toBe(4);
  });

  it('stores last-applied-configuration without data and stringData (dropped when it is not JSON), and refuses overrides of data and malformed data naming the field', async () => {
    const secret = plaintext('applied');
    const applied = JSON.stringify(fedSecret('applied', { data: { k: b64(secret) }, stringData: { s: secret } }, { annotations: { keep: 'me' } }));
    const innerApplied = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'applied' }, data: { k: b64(secret) }, type: 'Opaque' });
    const created = await gateway.create(
      SECRETS,
      fedSecret('applied', { metadata: { annotations: { [LAST_APPLIED]: innerApplied } }, data: { k: b64(secret) } }, { annotations: { [LAST_APPLIED]: applied, keep: 'me' } }),
    );
    const annotations = meta(created).annotations as Record<string, string>;
    expect(annotations.keep).toBe('me');
    const stored = JSON.parse(annotations[LAST_APPLIED]!) as { spec: { template: Record<string, unknown>; placement: unknown } };
    expect(stored.spec.template).toEqual({ type: 'Opaque' });
    expect(stored.spec.placement).toEqual({ clusters: [{ name: 'm1' }] });
    const inner = JSON.parse(((template(created).metadata as Record<string, unknown>).annotations as Record<string, string>)[LAST_APPLIED]!) as Record<string, unknown>;
    expect(inner).toEqual({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'applied' }, type: 'Opaque' });
    expect(await whereStored(secret)).toEqual([]);
    expect(await whereStored(b64(secret))).toEqual([]);

    const unparsable = await gateway.update(SECRETS, fedSecret('applied', {}, { annotations: { [LAST_APPLIED]: `{"spec": {"template": {"data": "${secret}"`, keep: 'me' } }));
    expect(meta(unparsable).annotations).toEqual({ keep: 'me' });
    expect(await whereStored(secret)).toEqual([]);

    const override = { overrides: [{ clusterName: 'm1', clusterOverrides: [{ path: '/metadata/labels/x', value: 'y' }, { path: '/data/k', value: b64(secret) }] }] };
    const refused = await gateway.create(SECRETS, fedSecret('over', {}, {}, override)).catch((e: unknown) => e);
    expect(refused).toMatchObject({ reason: ErrorReason.Invalid, details: { causes: [{ field: 'spec.overrides[0].clusterOverrides[1].path' }] } });
    expect(JSON.stringify(refused)).not.toContain(secret);
    const badData = await gateway.create(SECRETS, fedSecret('bad', { data: { k: `not base64 ${secret}` }, stringData: 'x' })).catch((e: unknown) => e);
    expect(badData).toMatchObject({ reason: ErrorReason.Invalid, details: { causes: [{ field: 'spec.template.data[k]' }, { field: 'spec.template.stringData' }] } });
    expect(String((badData as Error).message)).not.toContain(secret);
    expect(await reasonOf(gateway.get(SECRETS, 'bad', NS))).toBe(ErrorReason.NotFound);
  });

  it('re-encrypts sealed objects to the current key (visible object and resourceVersion unchanged); a write re-seals under the current key', async () => {
    const secret = plaintext('rotate');
    const created = await gateway.create(SECRETS, fedSecret('rotated', { stringData: { s: secret } }));
    const k1 = platform.encryptionKeys;
    const rotated = new ObjectSealer(SecretBox.fromSpec(`k2:${SecretBox.generateKey()},${k1}`), running.app.get(ObjectsRepository));
    const keyOf = async () => (await pg.query<{ k: string }>(`SELECT object->'__sealed'->>'keyId' AS k FROM objects WHERE resource = $1 AND name = 'rotated'`, [SECRETS])).rows[0]?.k;
    const before = await keyOf();
    expect(before).toBe(k1.split(':')[0]);
    expect(await rotated.countNotUnderKey('k2')).toBeGreaterThan(0);
    const uow = running.app.get(UnitOfWork);
    let moved = 0;
    for (let n = -1; n !== 0; ) moved += n = await uow.run((tx) => rotated.reencryptBatch(tx, 'k2', 50));
    expect(moved).toBeGreaterThan(0);
    expect(await keyOf()).toBe('k2');
    expect(await rotated.countNotUnderKey('k2')).toBe(0);
    expect((await rotated.countByKey()).get('k2')).toBe(moved);
    expect(await whereStored(secret)).toEqual([]);
    // The row's visible object did not move; the rotated sealer opens it.
    const row = await running.app.get(ObjectsRepository).find({ resource: SECRETS, namespace: NS, name: 'rotated' });
    expect(row?.resourceVersion).toBe(created.resourceVersion);
    const { rows } = await pg.query<{ sealed: { keyId: string; ciphertext: string } }>(`SELECT object->'__sealed' AS sealed FROM objects WHERE resource = $1 AND name = 'rotated'`, [SECRETS]);
    expect(rotated.open({ resource: SECRETS, namespace: NS, name: 'rotated' }, row!.object, rows[0]!.sealed)).toEqual({ stringData: { s: secret } });
    // This registry (k1 only) can no longer open it: the error names the key and the fix, not the content.
    const unreadable = await sync.unseal(SECRETS, 'rotated', NS).catch((e: unknown) => e as Error);
    expect(unreadable).toMatchObject({ reason: ErrorReason.InternalError });
    expect(String((unreadable as Error).message)).toContain('FLOTILLA_ENCRYPTION_KEYS');
    expect(String((unreadable as Error).message)).not.toContain(secret);
    // A write that gives no data keeps the unreadable part as it is; one that gives data replaces it.
    expect(meta(await gateway.update(SECRETS, { ...created.object, metadata: { ...meta(created), resourceVersion: undefined, labels: { x: 'y' } } })).generation).toBe(1);
    expect(await keyOf()).toBe('k2');
    expect(meta(await gateway.update(SECRETS, fedSecret('rotated', { stringData: { s: secret } }))).generation).toBe(2);
    expect(await keyOf()).toBe(before);
    expect(template(await sync.unseal(SECRETS, 'rotated', NS)).stringData).toEqual({ s: secret });
  });
});
