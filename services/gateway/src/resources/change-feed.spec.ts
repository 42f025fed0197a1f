import type { ObjectChange, ObjectChangePage, ObjectListPage, ObjectStore, StoredObject } from '@flotilla/clients';
import { Observable, Subscriber } from 'rxjs';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { eventually } from '@flotilla/testing';
import { FeedEvent, ObjectChangeFeed } from './change-feed';

/** A small in-memory ObjectStore with a change log (the real one is exercised in iam-api.int-spec.ts). */
class MemoryStore implements ObjectStore {
  revision = 0n;
  objects = new Map<string, StoredObject>();
  log: ObjectChange[] = [];
  /** Changes before this revision are pruned: `changes` from further back is Gone. */
  oldest = 0n;
  changeCalls = 0;

  private write(type: ObjectChange['type'], resource: string, name: string, object: Record<string, unknown>): StoredObject {
    this.revision++;
    const stored: StoredObject = { resource, namespace: '', name, resourceVersion: String(this.revision), object: { ...object, metadata: { name, resourceVersion: String(this.revision) } } };
    if (type === 'DELETED') this.objects.delete(`${resource}/${name}`);
    else this.objects.set(`${resource}/${name}`, stored);
    this.log.push({ type, revision: String(this.revision), object: stored });
    return stored;
  }
  put(resource: string, name: string, object: Record<string, unknown> = {}) {
    return this.write(this.objects.has(`${resource}/${name}`) ? 'MODIFIED' : 'ADDED', resource, name, object);
  }
  async create(resource: string, object: Record<string, unknown>) {
    return this.put(resource, String((object.metadata as { name: string }).name), object);
  }
  async update(resource: string, object: Record<string, unknown>) {
    return this.put(resource, String((object.metadata as { name: string }).name), object);
  }
  async delete(resource: string, name: string) {
    return this.write('DELETED', resource, name, {});
  }
  async get(resource: string, name: string) {
    const found = this.objects.get(`${resource}/${name}`);
    if (!found) throw new FlotillaError(ErrorReason.NotFound, 'not found');
    return found;
  }
  async unseal(resource: string, name: string): Promise<StoredObject> {
    return this.get(resource, name);
  }
  async list(resource: string, options: { limit?: number; continue?: string } = {}): Promise<ObjectListPage> {
    const all = [...this.objects.values()].filter((o) => o.resource === resource).sort((a, b) => a.name.localeCompare(b.name));
    const start = Number(options.continue ?? 0);
    const limit = options.limit ?? 500;
    const page: ObjectListPage = { items: all.slice(start, start + limit), revision: String(this.revision) };
    if (start + limit < all.length) page.continue = String(start + limit);
    return page;
  }
  async changes(since: string, options: { resources?: string[]; limit?: number } = {}): Promise<ObjectChangePage> {
    this.changeCalls++;
    if (BigInt(since) < this.oldest) throw new FlotillaError(ErrorReason.Gone, 'too old resource version');
    const limit = options.limit ?? 1000;
    const changes = this.log.filter((c) => BigInt(c.revision) > BigInt(since) && (!options.resources?.length || options.resources.includes(c.object.resource))).slice(0, limit);
    return { changes, revision: changes.length === limit ? changes[changes.length - 1]!.revision : String(this.revision) };
  }
}

/** The same store pushing its changes as the registry's WatchObjectChanges does: after each write, to every open stream. */
class PushingStore extends MemoryStore {
  streams = new Set<{ position: bigint; resources: string[]; out: Subscriber<ObjectChangePage> }>();
  watchCalls = 0;

  watchChanges(since: string, options: { resources?: string[] } = {}): Observable<ObjectChangePage> {
    return new Observable<ObjectChangePage>((out) => {
      this.watchCalls++;
      const stream = { position: BigInt(since), resources: options.resources ?? [], out };
      this.streams.add(stream);
      this.push(stream);
      return () => this.streams.delete(stream);
    });
  }

  override put(resource: string, name: string, object: Record<string, unknown> = {}) {
    const stored = super.put(resource, name, object);
    // Pushed a moment after the commit, as a NOTIFY would.
    setImmediate(() => this.streams.forEach((s) => this.push(s)));
    return stored;
  }

  private push(s: { position: bigint; resources: string[]; out: Subscriber<ObjectChangePage> }): void {
    const changes = this.log.filter((c) => BigInt(c.revision) > s.position && s.resources.includes(c.object.resource));
    s.position = this.revision;
    s.out.next({ changes, revision: String(this.revision) });
  }
}

const describeEvent = (e: FeedEvent) => (e.type === 'SYNC' ? `SYNC ${e.items.map((i) => i.name).join(',')}@${e.revision}` : `${e.change.type} ${e.change.object.name}@${e.change.revision}`);

describe('ObjectChangeFeed', () => {
  let store: MemoryStore;
  let feed: ObjectChangeFeed;

  beforeEach(() => {
    store = new MemoryStore();
    feed = new ObjectChangeFeed(store, undefined, undefined, { pollMs: 20, caughtUpTimeoutMs: 2000, pageSize: 2 });
  });
  afterEach(() => feed.onModuleDestroy());

  it('sends a SYNC, then every change of the followed resources in order, paging through full pages', async () => {
    store.put('users.x', 'a');
    const seen: string[] = [];
    feed.follow(['users.x'], (e) => seen.push(describeEvent(e)));
    await eventually(() => expect(seen).toEqual(['SYNC a@1']));
    store.put('users.x', 'b');
    store.put('other.x', 'z');
    store.put('users.x', 'a');
    await store.delete('users.x', 'b');
    await eventually(() => expect(seen).toEqual(['SYNC a@1', 'ADDED b@2', 'MODIFIED a@4', 'DELETED b@5']));
  });

  it('gives a later follower its own SYNC and no change it already has', async () => {
    const first: string[] = [];
    feed.follow(['users.x'], (e) => first.push(describeEvent(e)));
    await eventually(() => expect(first).toEqual(['SYNC @0']));
    store.put('users.x', 'a');
    await eventually(() => expect(first).toEqual(['SYNC @0', 'ADDED a@1']));
    const second: string[] = [];
    feed.follow(['users.x'], (e) => second.push(describeEvent(e)));
    store.put('users.x', 'b');
    await eventually(() => expect(second).toEqual(['SYNC a@1', 'ADDED b@2']));
    expect(first).toEqual(['SYNC @0', 'ADDED a@1', 'ADDED b@2']);
  });

  it('lists again and sends a new SYNC after Gone', async () => {
    const slow = new ObjectChangeFeed(store, undefined, undefined, { pollMs: 60_000 });
    const seen: string[] = [];
    slow.follow(['users.x'], (e) => seen.push(describeEvent(e)));
    await eventually(() => expect(seen).toEqual(['SYNC @0']));
    store.put('users.x', 'a');
    store.put('users.x', 'b');
    store.oldest = 2n; // the log no longer reaches back to the feed's cursor
    await slow.caughtUp('2'); // wakes the poller, which meets Gone and lists again
    expect(seen).toEqual(['SYNC @0', 'SYNC a,b@2']);
    await slow.onModuleDestroy();
  });

  it('stops feeding a follower that throws, and keeps feeding the others', async () => {
    const good: string[] = [];
    let calls = 0;
    feed.follow(['users.x'], () => {
      calls++;
      if (calls > 1) throw new Error('broken consumer');
    });
    feed.follow(['users.x'], (e) => good.push(describeEvent(e)));
    await eventually(() => expect(good).toEqual(['SYNC @0']));
    store.put('users.x', 'a');
    store.put('users.x', 'b');
    await eventually(() => expect(good.slice(-1)).toEqual(['ADDED b@2']));
    expect(calls).toBe(2);
  });

  it('resolves caughtUp once the feed has applied the revision, polling at once', async () => {
    await feed.caughtUp('99'); // nobody follows: nothing to wait for
    const slow = new ObjectChangeFeed(store, undefined, undefined, { pollMs: 60_000, caughtUpTimeoutMs: 5000 });
    const seen: string[] = [];
    slow.follow(['users.x'], (e) => seen.push(describeEvent(e)));
    await eventually(() => expect(seen).toEqual(['SYNC @0']));
    const written = store.put('users.x', 'a');
    const started = Date.now();
    await slow.caughtUp(written.resourceVersion);
    expect(seen).toEqual(['SYNC @0', 'ADDED a@1']);
    expect(Date.now() - started).toBeLessThan(2000);
    await slow.onModuleDestroy();
  });

  it('follows the changes the registry pushes: caughtUp resolves on the push, with polling a minute away', async () => {
    const pushing = new PushingStore();
    const pushed = new ObjectChangeFeed(pushing, undefined, undefined, { pollMs: 60_000, caughtUpTimeoutMs: 5000 });
    const seen: string[] = [];
    pushed.follow(['users.x'], (e) => seen.push(describeEvent(e)));
    await eventually(() => expect(seen).toEqual(['SYNC @0']));
    const written = pushing.put('users.x', 'a');
    // A write of a resource nobody follows is waited for too: the stream's revision moves on.
    const other = pushing.put('tokens.x', 't');
    const started = Date.now();
    await pushed.caughtUp(written.resourceVersion);
    await pushed.caughtUp(other.resourceVersion);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(seen).toEqual(['SYNC @0', 'ADDED a@1']);
    expect(pushing.changeCalls).toBe(0);
    expect(pushing.watchCalls).toBe(1);
    await pushed.onModuleDestroy();
  });
});
