import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { GrpcServiceClient, ObjectsClient } from '@flotilla/clients';
import type { ObjectChange } from '@flotilla/clients';
import { objectsV1 } from '@flotilla/contracts';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, preparePlatformEnv, reasonOf } from '@flotilla/testing';
import { startRegistry } from '../main';
import { ObjectChangesRepository } from './object-changes.repository';

const USERS = 'users.iam.kubesphere.io';
const BINDINGS = 'rolebindings.iam.kubesphere.io';

const user = (name: string, spec: Record<string, unknown> = { email: `${name}@example.com` }, metadata: Record<string, unknown> = {}) => ({
  apiVersion: 'iam.kubesphere.io/v1beta1',
  kind: 'User',
  metadata: { name, ...metadata },
  spec,
});

async function errorOf(p: Promise<unknown>): Promise<FlotillaError> {
  try {
    await p;
  } catch (error) {
    if (error instanceof FlotillaError) return error;
    throw error;
  }
  throw new Error('expected an error');
}

const meta = (o: { object: Record<string, unknown> }) => o.object.metadata as Record<string, unknown>;

describe('the generic object store in the registry (real Postgres, over gRPC)', () => {
  let platform: PlatformEnv;
  let running: RunningService;
  let store: ObjectsClient;
  let importer: ObjectsClient;
  let probe: ObjectsClient;
  let sync: ObjectsClient;
  let raw: GrpcServiceClient<objectsV1.ObjectServiceClient>;

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    ({ running } = await startRegistry(platform.env('registry')));
    const target = `127.0.0.1:${platform.ports.registryGrpc}`;
    store = new ObjectsClient(target, platform.tokens.gateway);
    importer = new ObjectsClient(target, platform.tokens['provider-import']);
    probe = new ObjectsClient(target, platform.tokens['health-probe']);
    sync = new ObjectsClient(target, platform.tokens['federation-sync']);
    raw = new GrpcServiceClient(target, { package: objectsV1.PROTOBUF_PACKAGE, protoFile: objectsV1.PROTO_FILE, service: objectsV1.OBJECT_SERVICE_NAME }, { internalToken: platform.tokens.gateway, upstream: 'registry' });
  });

  afterAll(async () => {
    for (const c of [store, importer, probe, sync, raw]) c?.close();
    await running?.stop();
    await platform?.cleanup();
  });

  it('creates with registry-set metadata, gets it back, and refuses a taken name', async () => {
    const created = await store.create(USERS, user('alice'));
    expect(created).toMatchObject({ resource: USERS, namespace: '', name: 'alice' });
    expect(created.resourceVersion).toMatch(/^\d+$/);
    expect(meta(created)).toMatchObject({ name: 'alice', resourceVersion: created.resourceVersion, generation: 1 });
    expect(meta(created).uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(meta(created).creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(meta(created)).not.toHaveProperty('namespace');
    const got = await store.get(USERS, 'alice');
    expect(got).toEqual(created);
    expect(await reasonOf(store.create(USERS, user('alice')))).toBe(ErrorReason.AlreadyExists);

    // Namespaced: the same name in two namespaces is two objects.
    const a = await store.create(BINDINGS, { kind: 'RoleBinding', metadata: { name: 'admin' }, roleRef: 'admin' }, 'team-a');
    const b = await store.create(BINDINGS, { kind: 'RoleBinding', metadata: { name: 'admin', namespace: 'team-b' }, roleRef: 'admin' });
    expect([a.namespace, meta(a).namespace, b.namespace]).toEqual(['team-a', 'team-a', 'team-b']);
    expect(await reasonOf(store.get(BINDINGS, 'admin'))).toBe(ErrorReason.NotFound);
    expect((await store.get(BINDINGS, 'admin', 'team-b')).object.roleRef).toBe('admin');
    expect(await reasonOf(store.create(BINDINGS, { metadata: { name: 'x', namespace: 'team-b' } }, 'team-a'))).toBe(ErrorReason.BadRequest);
  });

  it('refuses bad names, resources and oversized objects with Invalid naming the field', async () => {
    const badName = await errorOf(store.create(USERS, user('Bad_Name')));
    expect(badName.reason).toBe(ErrorReason.Invalid);
    expect(badName.details.causes?.[0]?.field).toBe('metadata.name');
    expect((await errorOf(store.create(USERS, { metadata: {} }))).details.causes?.[0]?.field).toBe('metadata.name');
    expect((await errorOf(store.create(USERS, user('x'.repeat(254))))).details.causes?.[0]?.message).toContain('253');
    const badResource = await errorOf(store.create('Users', user('bob')));
    expect([badResource.reason, badResource.details.causes?.[0]?.field]).toEqual([ErrorReason.Invalid, 'resource']);
    expect(await reasonOf(store.get('users', 'bob'))).toBe(ErrorReason.Invalid);
    expect(await reasonOf(store.create(USERS, user('bob'), 'Not_A_Namespace'))).toBe(ErrorReason.Invalid);
    expect(await reasonOf(store.create(USERS, user('bob', {}, { resourceVersion: '5' })))).toBe(ErrorReason.Invalid);

    // The client checks the size before sending; the registry checks it again for any other caller.
    const big = user('big', { blob: 'x'.repeat(1024 * 1024) });
    expect(await reasonOf(store.create(USERS, big))).toBe(ErrorReason.Invalid);
    const direct = await errorOf(raw.unary(raw.service.createObject, { resource: USERS, namespace: '', objectJson: JSON.stringify(big) }));
    expect([direct.reason, direct.details.causes?.[0]?.field]).toEqual([ErrorReason.Invalid, 'object']);
    expect(await reasonOf(raw.unary(raw.service.createObject, { resource: USERS, namespace: '', objectJson: '{"metadata":' }))).toBe(ErrorReason.Invalid);
    expect(await reasonOf(raw.unary(raw.service.createObject, { resource: USERS, namespace: '', objectJson: '[1]' }))).toBe(ErrorReason.Invalid);
    expect(await reasonOf(store.get(USERS, 'big'))).toBe(ErrorReason.NotFound);
  });

  it('updates: keeps uid and creationTimestamp, bumps generation only for spec, Conflict on a stale resourceVersion', async () => {
    const created = await store.create(USERS, user('carol'));
    const relabelled = await store.update(USERS, user('carol', created.object.spec as Record<string, unknown>, { labels: { team: 'a' }, resourceVersion: created.resourceVersion, creationTimestamp: '2000-01-01T00:00:00Z' }));
    expect(BigInt(relabelled.resourceVersion)).toBeGreaterThan(BigInt(created.resourceVersion));
    expect(meta(relabelled)).toMatchObject({ uid: meta(created).uid, creationTimestamp: meta(created).creationTimestamp, generation: 1, labels: { team: 'a' } });
    const withStatus = await store.update(USERS, { ...relabelled.object, status: { state: 'Active' } });
    expect(meta(withStatus).generation).toBe(1);
    const respecced = await store.update(USERS, { ...withStatus.object, spec: { email: 'carol@example.org' } });
    expect(meta(respecced).generation).toBe(2);
    expect(await store.get(USERS, 'carol')).toEqual(respecced);

    const stale = await errorOf(store.update(USERS, user('carol', {}, { resourceVersion: created.resourceVersion })));
    expect(stale.reason).toBe(ErrorReason.Conflict);
    expect(stale.message).toContain('the object has been modified');
    expect(await reasonOf(store.update(USERS, user('carol', {}, { uid: '00000000-0000-4000-8000-000000000000' })))).toBe(ErrorReason.Conflict);
    expect(await reasonOf(store.update(USERS, user('nobody')))).toBe(ErrorReason.NotFound);
    // Without a resourceVersion the write is unconditional (last write wins), as in Kubernetes.
    expect(meta(await store.update(USERS, user('carol', { email: 'c@example.org' }))).generation).toBe(3);
  });

  it('deletes with preconditions, returning the last state', async () => {
    const created = await store.create(USERS, user('dave'));
    expect(await reasonOf(store.delete(USERS, 'dave', undefined, { uid: '00000000-0000-4000-8000-000000000000' }))).toBe(ErrorReason.Conflict);
    expect(await reasonOf(store.delete(USERS, 'dave', undefined, { resourceVersion: '1' }))).toBe(ErrorReason.Conflict);
    const deleted = await store.delete(USERS, 'dave', undefined, { uid: meta(created).uid as string, resourceVersion: created.resourceVersion });
    expect(deleted.object.spec).toEqual(created.object.spec);
    expect(BigInt(deleted.resourceVersion)).toBeGreaterThan(BigInt(created.resourceVersion));
    expect(await reasonOf(store.get(USERS, 'dave'))).toBe(ErrorReason.NotFound);
    expect(await reasonOf(store.delete(USERS, 'dave'))).toBe(ErrorReason.NotFound);
  });

  it('lists by name in pages with an opaque continue token, at one revision', async () => {
    const R = 'pagers.example.io';
    const names = ['p-05', 'p-01', 'p-03', 'p-07', 'p-02', 'p-06', 'p-04'];
    for (const n of names) await store.create(R, { metadata: { name: n } });
    await store.create(R, { metadata: { name: 'p-00' } }, 'other');
    const seen: string[] = [];
    let page = await store.list(R, { namespace: '', limit: 3 });
    const revision = page.revision;
    for (;;) {
      expect(page.revision).toBe(revision);
      seen.push(...page.items.map((i) => `${i.namespace}/${i.name}`));
      if (!page.continue) break;
      page = await store.list(R, { limit: 3, continue: page.continue });
    }
    expect(seen).toEqual(['/p-01', '/p-02', '/p-03', '/p-04', '/p-05', '/p-06', '/p-07', 'other/p-00']);
    expect((await store.list(R, { namespace: 'other' })).items.map((i) => i.name)).toEqual(['p-00']);
    expect((await store.list(R, { limit: 5000 })).items).toHaveLength(8);
    const first = await store.list(R, { limit: 2 });
    expect(await reasonOf(store.list(USERS, { limit: 2, continue: first.continue }))).toBe(ErrorReason.BadRequest);
    expect(await reasonOf(store.list(R, { continue: 'not-a-token' }))).toBe(ErrorReason.BadRequest);
    // The revision of a list is where to follow changes from: nothing before it comes again.
    const after = await store.changes(revision, { resources: [R] });
    expect(after.changes).toEqual([]);
  });

  it('serves changes since a revision, oldest first, filtered by resource and paged by limit', async () => {
    const R = 'followers.example.io';
    const since = (await store.list(R)).revision;
    const a = await store.create(R, { metadata: { name: 'a' }, spec: { n: 1 } });
    await store.create(USERS, user('erin'));
    const a2 = await store.update(R, { ...a.object, spec: { n: 2 } });
    const gone = await store.delete(R, 'a');
    const page = await store.changes(since, { resources: [R] });
    expect(page.changes.map((c) => [c.type, c.object.name, c.revision])).toEqual([
      ['ADDED', 'a', a.resourceVersion],
      ['MODIFIED', 'a', a2.resourceVersion],
      ['DELETED', 'a', gone.resourceVersion],
    ]);
    expect(page.changes[2]!.object.object.spec).toEqual({ n: 2 });
    expect(page.changes[2]!.object.resourceVersion).toBe(gone.resourceVersion);
    expect(BigInt(page.revision)).toBeGreaterThanOrEqual(BigInt(gone.resourceVersion));
    expect((await store.changes(page.revision)).changes).toEqual([]);

    // A full page resumes after its last change, not after the store's newest revision.
    const one = await store.changes(since, { limit: 1 });
    expect(one.changes.map((c) => c.revision)).toEqual([a.resourceVersion]);
    expect(one.revision).toBe(a.resourceVersion);
    const all = await store.changes(since);
    expect(all.changes.map((c) => c.type)).toEqual(['ADDED', 'ADDED', 'MODIFIED', 'DELETED']);

    expect(await reasonOf(store.changes('abc'))).toBe(ErrorReason.BadRequest);
    expect(await reasonOf(store.changes('-1'))).toBe(ErrorReason.BadRequest);
    expect(await reasonOf(store.changes('999999999999'))).toBe(ErrorReason.Gone);
  });

  it('lets provider-import read, the gateway and federation-sync write, and no one else in', async () => {
    await store.create(USERS, user('frank'));
    expect((await importer.get(USERS, 'frank')).name).toBe('frank');
    expect((await importer.list(USERS)).items.length).toBeGreaterThan(0);
    expect((await importer.changes('0')).changes.length).toBeGreaterThan(0);
    expect(await reasonOf(importer.create(USERS, user('gina')))).toBe(ErrorReason.Forbidden);
    expect(await reasonOf(importer.update(USERS, user('frank')))).toBe(ErrorReason.Forbidden);
    expect(await reasonOf(importer.delete(USERS, 'frank'))).toBe(ErrorReason.Forbidden);
    expect(await reasonOf(probe.get(USERS, 'frank'))).toBe(ErrorReason.Forbidden);
    expect(await reasonOf(probe.create(USERS, user('gina')))).toBe(ErrorReason.Forbidden);
    // federation-sync writes status, orphans and events, and deletes after its cleanup (issue 15).
    const O = 'orphans.federation.flotilla.io';
    const orphan = await sync.create(O, { metadata: { name: 'm1.0123456789abcdef' }, spec: { cluster: 'm1' } });
    expect(meta(await sync.update(O, { ...orphan.object, status: { seen: true } })).generation).toBe(1);
    expect((await sync.delete(O, orphan.name)).name).toBe(orphan.name);
    expect(await reasonOf(sync.get(O, orphan.name))).toBe(ErrorReason.NotFound);
  });

  it('hands out revisions in commit order under concurrent writes: a follower never skips one', async () => {
    const R = 'races.example.io';
    const start = (await store.list(R)).revision;
    let writing = true;
    const followed: ObjectChange[] = [];
    let cursor = start;
    const follow = async () => {
      const page = await store.changes(cursor, { resources: [R] });
      followed.push(...page.changes);
      cursor = page.revision;
    };
    // A follower reading as fast as it can while writers race: a revision committed after a
    // higher one had been read would be skipped, and the final comparison would catch it.
    const follower = (async () => {
      while (writing) await follow();
    })();
    const writes = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const created = await store.create(R, { metadata: { name: `r-${i}` }, spec: { i } });
        const updated = await store.update(R, { ...created.object, spec: { i, again: true } });
        return [created.resourceVersion, updated.resourceVersion];
      }),
    );
    writing = false;
    await follower;
    await follow();
    const revisions = followed.map((c) => BigInt(c.revision));
    expect(revisions).toEqual([...revisions].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
    expect(new Set(revisions).size).toBe(revisions.length);
    expect(followed.map((c) => c.revision).sort()).toEqual(writes.flat().sort());
    expect(followed.every((c) => c.object.resourceVersion === c.revision)).toBe(true);
  });

  it('answers Gone for a revision older than the retained change log (after pruning)', async () => {
    const R = 'pruned.example.io';
    const before = (await store.list(R)).revision;
    for (let i = 0; i < 5; i++) await store.create(R, { metadata: { name: `old-${i}` } });
    const recent = (await store.list(R)).revision;
    // Every change is older than 0 seconds; the newest two stay however old they are.
    const pruned = await running.app.get(ObjectChangesRepository).prune(0, 2);
    expect(pruned).toBeGreaterThan(0);
    expect(await reasonOf(store.changes(before))).toBe(ErrorReason.Gone);
    expect(await reasonOf(store.changes('0'))).toBe(ErrorReason.Gone);
    expect((await store.changes(recent)).changes).toEqual([]);
    const kept = await store.changes(String(BigInt(recent) - 2n));
    expect(kept.changes.map((c) => c.object.name)).toEqual(['old-3', 'old-4']);
  });
});
