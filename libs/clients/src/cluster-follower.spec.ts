import { Subject } from 'rxjs';
import { type Cluster, ClusterErrors } from '@flotilla/domain';
import { eventually } from '@flotilla/testing';
import { ClusterFollower, type ClusterFollowerChange, type ClusterFollowerRegistry } from './cluster-follower';
import type { ClusterList, ClusterWatchEvent, ListClustersOptions, WatchClustersOptions } from './registry-client';

function cluster(name: string, rv: string, labels: Record<string, string> = {}): Cluster {
  return {
    apiVersion: 'cluster.kubesphere.io/v1alpha1',
    kind: 'Cluster',
    metadata: { name, uid: `uid-${name}`, resourceVersion: rv, labels },
    spec: { connection: { type: 'direct' } },
  };
}

/** A registry whose list answers from `state` in pages of 2 (or fails while `failLists` > 0), and whose watches the test drives. */
class StandInRegistry implements ClusterFollowerRegistry {
  state: Cluster[] = [];
  listRv = '10';
  lists = 0;
  failLists = 0;
  /** When set, a list waits for it before answering. */
  gate?: Promise<void>;
  watches: { options: WatchClustersOptions; events: Subject<ClusterWatchEvent> }[] = [];

  async listClusters(o: ListClustersOptions = {}): Promise<ClusterList> {
    this.lists++;
    await this.gate;
    if (this.failLists > 0) {
      this.failLists--;
      throw new Error('UNAVAILABLE');
    }
    const from = Number(o.continue ?? 0);
    const limit = o.limit ?? 2;
    const items = this.state.slice(from, from + limit);
    const next = from + limit < this.state.length ? String(from + limit) : undefined;
    return { apiVersion: 'cluster.kubesphere.io/v1alpha1', kind: 'ClusterList', metadata: { resourceVersion: this.listRv, ...(next ? { continue: next } : {}) }, items };
  }

  watchClusters(options: WatchClustersOptions = {}) {
    const events = new Subject<ClusterWatchEvent>();
    this.watches.push({ options, events });
    return events.asObservable();
  }

  get last() {
    return this.watches[this.watches.length - 1]!;
  }
}

const describeChanges = (changes: readonly ClusterFollowerChange[]) =>
  changes.map((c) => `${c.name}:${c.before ? c.before.metadata.resourceVersion : '-'}>${c.after ? c.after.metadata.resourceVersion : '-'}`);

describe('ClusterFollower', () => {
  let registry: StandInRegistry;
  let follower: ClusterFollower;
  let batches: string[][];
  let errors: unknown[];

  beforeEach(async () => {
    registry = new StandInRegistry();
    registry.state = [cluster('a', '1'), cluster('b', '2'), cluster('c', '3')];
    batches = [];
    errors = [];
    follower = new ClusterFollower(registry, { pageSize: 2, onChanges: (c) => batches.push(describeChanges(c)), onError: (e) => errors.push(e) });
    expect(follower.isSynced).toBe(false);
    follower.start();
    await follower.synced;
  });
  afterEach(() => follower.stop());

  it("lists every page, tells the list as one batch, then watches from the list's resourceVersion with bookmarks", () => {
    expect(follower.isSynced).toBe(true);
    expect(registry.lists).toBe(2);
    expect(batches).toEqual([['a:->1', 'b:->2', 'c:->3']]);
    expect([...follower.clusters.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(registry.last.options).toEqual({ resourceVersion: '10', allowBookmarks: true });
  });

  it('applies each watch event as its own batch; a deletion of an unknown cluster tells nothing', () => {
    registry.last.events.next({ type: 'MODIFIED', object: cluster('b', '11', { env: 'dev' }) });
    registry.last.events.next({ type: 'ADDED', object: cluster('d', '12') });
    registry.last.events.next({ type: 'DELETED', object: cluster('a', '13') });
    registry.last.events.next({ type: 'DELETED', object: cluster('zz', '14') });
    expect(batches.slice(1)).toEqual([['b:2>11'], ['d:->12'], ['a:1>-']]);
    expect(follower.clusters.get('b')?.metadata.labels).toEqual({ env: 'dev' });
    expect(follower.clusters.has('a')).toBe(false);
    expect(follower.version).toBe('14');
  });

  it('resumes a failed or ended watch from the last resourceVersion seen (events and bookmarks), without re-listing', async () => {
    registry.last.events.next({ type: 'MODIFIED', object: cluster('b', '15') });
    registry.last.events.next({ type: 'BOOKMARK', resourceVersion: '17' });
    registry.last.events.error(new Error('UNAVAILABLE'));
    await eventually(() => expect(registry.watches).toHaveLength(2));
    expect(registry.last.options.resourceVersion).toBe('17');
    expect(errors).toHaveLength(1);
    registry.last.events.complete();
    await eventually(() => expect(registry.watches).toHaveLength(3));
    expect(registry.last.options.resourceVersion).toBe('17');
    expect(errors).toHaveLength(1); // a clean end is no error
    expect(registry.lists).toBe(2);
  });

  it('re-lists on 410 Expired: tells the clusters gone, new or changed, not the unchanged', async () => {
    registry.state = [cluster('a', '1'), cluster('b', '20'), cluster('e', '21')];
    registry.listRv = '30';
    registry.last.events.error(ClusterErrors.watchExpired('10'));
    await eventually(() => expect(registry.last.options.resourceVersion).toBe('30'));
    expect(batches.slice(1)).toEqual([['c:3>-', 'b:2>20', 'e:->21']]);
    expect([...follower.clusters.keys()].sort()).toEqual(['a', 'b', 'e']);
  });

  it('retries a failed list with backoff, reporting each failure', async () => {
    registry.failLists = 2;
    registry.last.events.error(ClusterErrors.watchExpired('10'));
    await eventually(() => expect(registry.watches).toHaveLength(2));
    expect(errors).toHaveLength(3); // the Expired, then two failed lists
    expect(registry.last.options.resourceVersion).toBe('10');
  });

  it('reports a throwing onChanges and goes on following', async () => {
    const throwing = new ClusterFollower(registry, {
      onChanges: () => {
        throw new Error('broken consumer');
      },
      onError: (e) => errors.push(e),
    });
    throwing.start();
    await throwing.synced;
    registry.last.events.next({ type: 'ADDED', object: cluster('d', '12') });
    expect(throwing.clusters.has('d')).toBe(true);
    expect(errors.map((e) => (e as Error).message)).toEqual(['broken consumer', 'broken consumer']);
    throwing.stop();
  });

  it('drops a list answered after stop, and can start again', async () => {
    let open!: () => void;
    registry.gate = new Promise((resolve) => (open = resolve));
    const late = new ClusterFollower(registry, { onChanges: (c) => batches.push(describeChanges(c)) });
    late.start();
    late.stop();
    const watches = registry.watches.length;
    open();
    await eventually(() => expect(registry.lists).toBe(3));
    await new Promise((resolve) => setImmediate(resolve));
    expect(late.clusters.size).toBe(0);
    expect(registry.watches).toHaveLength(watches);
    late.start();
    await late.synced;
    expect(late.clusters.size).toBe(3);
    late.stop();
  });
});
