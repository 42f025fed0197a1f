import { firstValueFrom, Subscription, take, toArray } from 'rxjs';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { ObjectFollower, ObjectsClient } from '@flotilla/clients';
import type { ObjectChangePage } from '@flotilla/clients';
import { RunningService } from '@flotilla/service-kit';
import { PlatformEnv, eventually, preparePlatformEnv } from '@flotilla/testing';
import { startRegistry } from '../main';
import { ObjectChangeHub } from './object-change-hub';
import { ObjectChangesRepository } from './object-changes.repository';

const USERS = 'users.iam.kubesphere.io';
const OTHER = 'widgets.watch.example.io';
const LIMIT = 3;
/** Far above every wait below: a change seen in time was pushed, not found by a periodic read. */
const NO_POLL_MS = 60_000;

const user = (name: string) => ({ apiVersion: 'iam.kubesphere.io/v1beta1', kind: 'User', metadata: { name }, spec: { email: `${name}@example.com` } });

async function errorOf(p: Promise<unknown>): Promise<FlotillaError> {
  try {
    await p;
  } catch (error) {
    if (error instanceof FlotillaError) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('WatchObjectChanges: object changes pushed as they commit (real Postgres, over gRPC)', () => {
  let platform: PlatformEnv;
  let running: RunningService | undefined;
  let store: ObjectsClient;
  let importer: ObjectsClient;
  const subscriptions: Subscription[] = [];
  const followers: ObjectFollower[] = [];

  // The registry's own safety re-read is a minute away: only NOTIFY can deliver in time.
  const env = () => ({ ...platform.env('registry'), LOG_LEVEL: 'warn', WATCH_POLL_MS: String(NO_POLL_MS), FLOTILLA_MAX_WATCHES_PER_CALLER: String(LIMIT) });

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    ({ running } = await startRegistry(env()));
    const target = `127.0.0.1:${platform.ports.registryGrpc}`;
    store = new ObjectsClient(target, platform.tokens.gateway);
    importer = new ObjectsClient(target, platform.tokens['provider-import']);
  });

  afterEach(async () => {
    for (const s of subscriptions.splice(0)) s.unsubscribe();
    for (const f of followers.splice(0)) await f.stop();
  });

  afterAll(async () => {
    store?.close();
    importer?.close();
    await running?.stop();
    await platform?.cleanup();
  });

  /** The newest revision (a list's revision is the store's current one). */
  const current = async () => (await store.list(USERS, { limit: 1 })).revision;

  const watch = (client: ObjectsClient, since: string, resources: string[]) => {
    const pages: ObjectChangePage[] = [];
    const ended: unknown[] = [];
    subscriptions.push(client.watchChanges(since, { resources }).subscribe({ next: (p) => pages.push(p), error: (e: unknown) => ended.push(e), complete: () => ended.push('complete') }));
    return { pages, ended };
  };

  it('delivers a commit to a stream in well under a second, with no periodic read on either side', async () => {
    const start = await current();
    const w = watch(store, start, [USERS]);
    // The first page says where the stream stands, even when empty.
    await eventually(() => expect(w.pages[0]?.revision).toBe(start));
    const written = Date.now();
    const created = await store.create(USERS, user('pushed-alice'));
    await eventually(() => expect(w.pages.flatMap((p) => p.changes).map((c) => c.object.name)).toEqual(['pushed-alice']));
    expect(Date.now() - written).toBeLessThan(500);
    expect(w.pages.at(-1)!.revision).toBe(created.resourceVersion);

    // A write of a resource it does not follow moves its revision on, with no change in it.
    const other = await store.create(OTHER, { metadata: { name: 'w1' } });
    await eventually(() => expect(w.pages.at(-1)!.revision).toBe(other.resourceVersion));
    expect(w.pages.flatMap((p) => p.changes).map((c) => c.object.name)).toEqual(['pushed-alice']);
    expect(w.ended).toEqual([]);
  });

  it('an ObjectFollower (fallback poll a minute away) sees each change pushed, in order', async () => {
    const seen: string[] = [];
    const follower = new ObjectFollower(store, {
      pollMs: NO_POLL_MS,
      onSync: (l) => seen.push(`SYNC ${l.get(USERS)!.items.length}`),
      onChanges: (changes) => seen.push(...changes.map((c) => `${c.type} ${c.object.name}`)),
    });
    followers.push(follower);
    follower.sync([USERS]);
    await eventually(() => expect(seen).toHaveLength(1));
    expect(follower.pushed).toBe(true);
    for (const name of ['f1', 'f2', 'f3']) {
      const written = Date.now();
      const created = await store.create(USERS, user(name));
      await eventually(() => expect(seen.at(-1)).toBe(`ADDED ${name}`));
      expect(Date.now() - written).toBeLessThan(500);
      await eventually(() => expect(BigInt(follower.revision!)).toBeGreaterThanOrEqual(BigInt(created.resourceVersion)));
    }
    await store.delete(USERS, 'f2');
    await eventually(() => expect(seen.slice(1)).toEqual(['ADDED f1', 'ADDED f2', 'ADDED f3', 'DELETED f2']));
  });

  it('answers Gone for a revision the log no longer holds (or never reached), and a follower lists again', async () => {
    const ahead = String(BigInt(await current()) + 1000n);
    const w = watch(store, ahead, []);
    await eventually(() => expect(w.ended).toHaveLength(1));
    expect((w.ended[0] as FlotillaError).reason).toBe(ErrorReason.Gone);

    const before = (await store.create(OTHER, { metadata: { name: 'before-prune' } })).resourceVersion;
    for (let i = 0; i < 3; i++) await store.create(OTHER, { metadata: { name: `prune-${i}` } });
    expect(await running!.app.get(ObjectChangesRepository).prune(0, 2)).toBeGreaterThan(0);
    const old = watch(store, before, [OTHER]);
    await eventually(() => expect(old.ended).toHaveLength(1));
    expect((old.ended[0] as FlotillaError).reason).toBe(ErrorReason.Gone);
    expect(old.pages).toEqual([]);

    // A follower standing before the pruned point is told Gone and lists everything again.
    const events: string[] = [];
    let streams = 0;
    const follower = new ObjectFollower(
      { list: (r, o) => store.list(r, o), changes: (s, o) => store.changes(s, o), watchChanges: (s, o) => store.watchChanges(streams++ === 0 ? before : s, o) },
      { pollMs: NO_POLL_MS, onSync: () => events.push('SYNC'), onChanges: () => undefined, onGone: () => events.push('GONE') },
    );
    followers.push(follower);
    follower.sync([OTHER]);
    await eventually(() => expect(events.slice(0, 3)).toEqual(['SYNC', 'GONE', 'SYNC']));
  });

  it('refuses a stream past FLOTILLA_MAX_WATCHES_PER_CALLER, and takes one again once a slot is free', async () => {
    const since = await current();
    const held = Array.from({ length: LIMIT }, () => watch(importer, since, [USERS]));
    await eventually(() => expect(held.every((h) => h.pages.length > 0)).toBe(true));
    const refused = await errorOf(firstValueFrom(importer.watchChanges(since, { resources: [USERS] })));
    expect(refused.reason).toBe(ErrorReason.TooManyRequests);
    expect(refused.message).toMatch(/FLOTILLA_MAX_WATCHES_PER_CALLER/);
    // Another identity has its own slots.
    expect((await firstValueFrom(store.watchChanges(since, { resources: [USERS] }))).revision).toBe(since);

    subscriptions.shift()!.unsubscribe();
    await eventually(async () => expect(running!.app.get(ObjectChangeHub).watcherCount).toBeLessThan(LIMIT));
    const again = await firstValueFrom(importer.watchChanges(since, { resources: [USERS] }).pipe(take(1), toArray()));
    expect(again[0]!.revision).toBe(since);
  });

  it('a follower resumes from its last revision after the registry restarts, missing nothing', async () => {
    const seen: string[] = [];
    const follower = new ObjectFollower(store, {
      pollMs: NO_POLL_MS,
      maxBackoffMs: 500,
      onSync: () => seen.push('SYNC'),
      onChanges: (changes) => seen.push(...changes.map((c) => c.object.name)),
    });
    followers.push(follower);
    follower.sync([USERS]);
    await eventually(() => expect(seen).toEqual(['SYNC']));
    await store.create(USERS, user('before-restart'));
    await eventually(() => expect(seen).toEqual(['SYNC', 'before-restart']));

    await running!.stop();
    running = undefined;
    ({ running } = await startRegistry(env()));
    await eventually(() => current());
    // Written at once after the restart, maybe before the follower is back: it resumes from its revision.
    await store.create(USERS, user('after-restart-1'));
    await store.create(USERS, user('after-restart-2'));
    await eventually(() => expect(seen).toEqual(['SYNC', 'before-restart', 'after-restart-1', 'after-restart-2']), { timeoutMs: 15_000 });
    expect(follower.pushed).toBe(true);
    // And it is pushed again, not polled.
    const written = Date.now();
    await store.create(USERS, user('after-restart-3'));
    await eventually(() => expect(seen.at(-1)).toBe('after-restart-3'));
    expect(Date.now() - written).toBeLessThan(500);
  }, 30_000);
});
