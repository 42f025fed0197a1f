import { Observable, Subscriber } from 'rxjs';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { eventually } from '@flotilla/testing';
import { ObjectFollower, type ObjectFollowerOptions, type ObjectListing } from './object-follower';
import type { ObjectChange, ObjectChangePage, ObjectListPage, ObjectStore, StoredObject } from './object-store';

/** Revisions past 2^53, so that anything parsing them as a JavaScript number would go wrong. */
const BASE = 2n ** 60n;
const rv = (n: number) => String(BASE + BigInt(n));

/** A small in-memory stand-in of ObjectStore.list and .changes, with a change log that can be pruned. */
class StandInStore implements Pick<ObjectStore, 'list' | 'changes'> {
  revision = BASE;
  objects = new Map<string, StoredObject>();
  log: ObjectChange[] = [];
  /** Changes before this revision are pruned: `changes` from further back is Gone. */
  oldest = BASE;
  failures = 0;
  calls: string[] = [];

  put(resource: string, name: string, deleted = false): void {
    this.revision++;
    const stored: StoredObject = { resource, namespace: '', name, resourceVersion: String(this.revision), object: { metadata: { name } } };
    const key = `${resource}/${name}`;
    const type = deleted ? 'DELETED' : this.objects.has(key) ? 'MODIFIED' : 'ADDED';
    if (deleted) this.objects.delete(key);
    else this.objects.set(key, stored);
    this.log.push({ type, revision: String(this.revision), object: stored });
  }

  private fail(): void {
    if (this.failures > 0) {
      this.failures--;
      throw new FlotillaError(ErrorReason.ServiceUnavailable, 'the registry is unavailable');
    }
  }

  async list(resource: string, options: { limit?: number; continue?: string } = {}): Promise<ObjectListPage> {
    this.calls.push(`list ${resource}`);
    this.fail();
    const all = [...this.objects.values()].filter((o) => o.resource === resource).sort((a, b) => a.name.localeCompare(b.name));
    const start = Number(options.continue ?? 0);
    const limit = options.limit ?? 500;
    const page: ObjectListPage = { items: all.slice(start, start + limit), revision: String(this.revision) };
    if (start + limit < all.length) page.continue = String(start + limit);
    return page;
  }

  async changes(since: string, options: { resources?: string[]; limit?: number } = {}): Promise<ObjectChangePage> {
    this.calls.push(`changes ${BigInt(since) - BASE} ${options.resources?.join('+')}`);
    this.fail();
    if (BigInt(since) < this.oldest) throw new FlotillaError(ErrorReason.Gone, 'too old resource version');
    const limit = options.limit ?? 1000;
    const changes = this.log.filter((c) => BigInt(c.revision) > BigInt(since) && (!options.resources?.length || options.resources.includes(c.object.resource))).slice(0, limit);
    return { changes, revision: String(this.revision) };
  }
}

const short = (revision: string) => String(BigInt(revision) - BASE);

describe('ObjectFollower', () => {
  let store: StandInStore;
  let events: string[];
  let errors: string[];
  let follower: ObjectFollower;

  const make = (options: Partial<ObjectFollowerOptions> = {}) =>
    new ObjectFollower(store, {
      pollMs: 20,
      listPageSize: 1,
      changesPageSize: 2,
      onSync: (listings: ReadonlyMap<string, ObjectListing>) =>
        events.push(`SYNC ${[...listings].map(([r, l]) => `${r}:${l.items.map((i) => i.name).join(',')}@${short(l.revision)}`).join(' ')}`),
      onChanges: (changes) => changes.forEach((c) => events.push(`${c.type} ${c.object.resource}/${c.object.name}@${short(c.revision)}`)),
      onGone: () => events.push('GONE'),
      onError: (error, failures) => errors.push(`${(error as Error).message} #${failures}`),
      ...options,
    });

  beforeEach(() => {
    store = new StandInStore();
    events = [];
    errors = [];
    follower = make();
  });
  afterEach(() => follower.stop());

  it('lists each resource (every page), then delivers its changes in order, following full pages at once', async () => {
    store.put('users', 'a');
    store.put('users', 'b');
    store.put('tokens', 't');
    follower.sync(['users', 'tokens']);
    await eventually(() => expect(events).toEqual(['SYNC users:a,b@3 tokens:t@3']));
    expect(follower.revision).toBe(rv(3));
    store.put('users', 'c');
    store.put('other', 'x');
    store.put('tokens', 't');
    store.put('users', 'a', true);
    await eventually(() => expect(events.slice(1)).toEqual(['ADDED users/c@4', 'MODIFIED tokens/t@6', 'DELETED users/a@7']));
    await eventually(() => expect(follower.revision).toBe(rv(7)));
    // The full page (2 changes, ending at 6) was followed by the next from its last change.
    expect(store.calls).toContain('changes 6 users+tokens');
  });

  it('lists a resource followed later on its own, and stops polling what is dropped', async () => {
    follower.sync(['users']);
    await eventually(() => expect(events).toEqual(['SYNC users:@0']));
    store.put('tokens', 't');
    await eventually(() => expect(follower.revision).toBe(rv(1)));
    follower.sync(['tokens']);
    await eventually(() => expect(events).toEqual(['SYNC users:@0', 'SYNC tokens:t@1']));
    store.put('users', 'u');
    store.put('tokens', 't');
    await eventually(() => expect(events.slice(2)).toEqual(['ADDED users/u@2', 'MODIFIED tokens/t@3']));
    follower.drop(['users']);
    store.put('users', 'v');
    store.put('tokens', 't');
    await eventually(() => expect(events.slice(4)).toEqual(['MODIFIED tokens/t@5']));
    follower.drop(['tokens']);
    expect(follower.revision).toBeUndefined();
  });

  it('lists every followed resource again after Gone', async () => {
    const slow = make({ pollMs: 60_000 });
    slow.sync(['users', 'tokens']);
    await eventually(() => expect(events).toEqual(['SYNC users:@0 tokens:@0']));
    store.put('users', 'a');
    store.put('users', 'b');
    store.oldest = BASE + 2n; // the log no longer reaches back to the cursor
    slow.wake();
    await eventually(() => expect(events).toEqual(['SYNC users:@0 tokens:@0', 'GONE', 'SYNC users:a,b@2 tokens:@2']));
    await eventually(() => expect(slow.revision).toBe(rv(2)));
    await slow.stop();
  });

  it('retries a failed list or poll with backoff, reporting failures in a row, and loses nothing', async () => {
    store.failures = 2;
    store.put('users', 'a');
    follower.sync(['users']);
    await eventually(() => expect(events).toEqual(['SYNC users:a@1']));
    expect(errors).toEqual(['the registry is unavailable #1', 'the registry is unavailable #2']);
    store.failures = 1;
    store.put('users', 'b');
    await eventually(() => expect(events).toEqual(['SYNC users:a@1', 'ADDED users/b@2']));
    expect(errors.slice(2)).toEqual(['the registry is unavailable #1']);
  });

  it('reports a throwing handler and goes on past what it was given', async () => {
    let calls = 0;
    const throwing = make({
      onChanges: (changes) => {
        if (changes.length > 0 && calls++ === 0) throw new Error('broken consumer');
        changes.forEach((c) => events.push(`${c.type} ${c.object.name}`));
      },
    });
    throwing.sync(['users']);
    await eventually(() => expect(events).toEqual(['SYNC users:@0']));
    store.put('users', 'a');
    await eventually(() => expect(errors).toEqual(['broken consumer #0']));
    store.put('users', 'b');
    await eventually(() => expect(events).toEqual(['SYNC users:@0', 'ADDED b']));
    await throwing.stop();
  });

  it('does nothing after stop', async () => {
    await follower.stop();
    follower.sync(['users']);
    follower.wake();
    expect(store.calls).toEqual([]);
  });
});

/** The stand-in with WatchObjectChanges: each write is pushed to the open streams of its resource. */
class PushingStore extends StandInStore {
  streams = new Set<{ position: bigint; resources: string[]; out: Subscriber<ObjectChangePage> }>();
  unimplemented = false;

  watchChanges(since: string, options: { resources?: string[] } = {}): Observable<ObjectChangePage> {
    return new Observable<ObjectChangePage>((out) => {
      this.calls.push(`watch ${BigInt(since) - BASE} ${options.resources?.join('+')}`);
      if (this.unimplemented) return out.error(new FlotillaError(ErrorReason.MethodNotAllowed, 'the registry does not serve WatchObjectChanges'));
      if (BigInt(since) < this.oldest) return out.error(new FlotillaError(ErrorReason.Gone, 'too old resource version'));
      const stream = { position: BigInt(since), resources: options.resources ?? [], out };
      this.streams.add(stream);
      this.push(stream);
      return () => this.streams.delete(stream);
    });
  }

  override put(resource: string, name: string, deleted = false): void {
    super.put(resource, name, deleted);
    for (const s of this.streams) this.push(s);
  }

  /** Every open stream ends with this error (a registry restart, say). */
  break(): void {
    for (const s of [...this.streams]) {
      this.streams.delete(s);
      s.out.error(new FlotillaError(ErrorReason.ServiceUnavailable, 'the registry service is unavailable'));
    }
  }

  private push(s: { position: bigint; resources: string[]; out: Subscriber<ObjectChangePage> }): void {
    const changes = this.log.filter((c) => BigInt(c.revision) > s.position && s.resources.includes(c.object.resource));
    s.position = this.revision;
    s.out.next({ changes, revision: String(this.revision) });
  }
}

describe('ObjectFollower over a store that pushes (WatchObjectChanges)', () => {
  let store: PushingStore;
  let events: string[];
  let errors: string[];
  let follower: ObjectFollower;

  beforeEach(() => {
    store = new PushingStore();
    events = [];
    errors = [];
    follower = new ObjectFollower(store, {
      // Polling is the fallback only: a minute away, so anything seen in time was pushed.
      pollMs: 60_000,
      reconnectMs: 10,
      onSync: (listings) => events.push(`SYNC ${[...listings].map(([r, l]) => `${r}:${l.items.map((i) => i.name).join(',')}@${short(l.revision)}`).join(' ')}`),
      onChanges: (changes) => changes.forEach((c) => events.push(`${c.type} ${c.object.resource}/${c.object.name}@${short(c.revision)}`)),
      onGone: () => events.push('GONE'),
      onError: (error, failures) => errors.push(`${(error as Error).message} #${failures}`),
    });
  });
  afterEach(() => follower.stop());

  it('lists, then follows the pushed changes from the listing, never polling', async () => {
    store.put('users', 'a');
    follower.sync(['users']);
    await eventually(() => expect(events).toEqual(['SYNC users:a@1']));
    store.put('users', 'b');
    store.put('other', 'x');
    store.put('users', 'a', true);
    await eventually(() => expect(events.slice(1)).toEqual(['ADDED users/b@2', 'DELETED users/a@4']));
    await eventually(() => expect(follower.revision).toBe(rv(4)));
    expect(follower.pushed).toBe(true);
    expect(store.calls.filter((c) => c.startsWith('changes'))).toEqual([]);
    expect(store.calls).toEqual(['list users', 'watch 1 users']);
    // wake (a writer waiting) does not poll while the stream is open.
    follower.wake();
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.calls).toHaveLength(2);
  });

  it('opens the stream again from the last revision when it fails, missing nothing', async () => {
    follower.sync(['users']);
    await eventually(() => expect(events).toEqual(['SYNC users:@0']));
    store.put('users', 'a');
    await eventually(() => expect(follower.revision).toBe(rv(1)));
    store.failures = 0;
    store.break();
    store.put('users', 'b'); // committed while no stream is open
    await eventually(() => expect(events.slice(1)).toEqual(['ADDED users/a@1', 'ADDED users/b@2']));
    expect(store.calls).toEqual(['list users', 'watch 0 users', 'watch 1 users']);
    expect(errors).toEqual(['the registry service is unavailable #1']);
  });

  it('opens the stream again with a resource synced later, after listing it', async () => {
    follower.sync(['users']);
    await eventually(() => expect(events).toEqual(['SYNC users:@0']));
    store.put('tokens', 't');
    await eventually(() => expect(follower.revision).toBe(rv(1)));
    follower.sync(['tokens']);
    await eventually(() => expect(events).toEqual(['SYNC users:@0', 'SYNC tokens:t@1']));
    store.put('tokens', 't');
    await eventually(() => expect(events.slice(2)).toEqual(['MODIFIED tokens/t@2']));
    expect(store.calls.slice(2)).toEqual(['list tokens', 'watch 1 users+tokens']);
  });

  it('lists again after a Gone from the stream', async () => {
    follower.sync(['users']);
    await eventually(() => expect(events).toEqual(['SYNC users:@0']));
    store.put('users', 'a');
    await eventually(() => expect(follower.revision).toBe(rv(1)));
    store.break();
    store.put('users', 'b');
    store.put('users', 'c');
    store.oldest = BASE + 2n; // the log no longer reaches back to the cursor
    await eventually(() => expect(events.slice(1)).toEqual(['ADDED users/a@1', 'GONE', 'SYNC users:a,b,c@3']));
    store.put('users', 'd');
    await eventually(() => expect(events.slice(4)).toEqual(['ADDED users/d@4']));
  });

  it('polls instead when the registry does not serve the stream', async () => {
    store.unimplemented = true;
    const polling = new ObjectFollower(store, { pollMs: 20, onSync: () => events.push('SYNC'), onChanges: (changes) => changes.forEach((c) => events.push(c.object.name)) });
    polling.sync(['users']);
    await eventually(() => expect(events).toEqual(['SYNC']));
    store.put('users', 'a');
    await eventually(() => expect(events).toEqual(['SYNC', 'a']));
    expect(polling.pushed).toBe(false);
    expect(store.calls.filter((c) => c.startsWith('watch'))).toEqual(['watch 0 users']);
    await polling.stop();
  });
});
