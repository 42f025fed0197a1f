import { Subject } from 'rxjs';
import type { ClusterList, ClusterWatchEvent, ListClustersOptions, WatchClustersOptions } from '@flotilla/clients';
import { type Cluster, ClusterErrors } from '@flotilla/domain';
import { eventually } from '@flotilla/testing';
import { ClusterMirror, type MirrorRegistry } from './cluster-mirror';

function cluster(name: string, rv: string, labels: Record<string, string> = {}, ready = true): Cluster {
  return {
    apiVersion: 'cluster.kubesphere.io/v1alpha1',
    kind: 'Cluster',
    metadata: { name, uid: `uid-${name}`, resourceVersion: rv, labels },
    spec: { connection: { type: 'direct' } },
    status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'Ready' : 'ClusterNotReachable', message: 'm' }] },
  };
}

/** A registry whose list answers from `state` in pages of 2 and whose watches the test drives. */
class FakeRegistry implements MirrorRegistry {
  state: Cluster[] = [];
  listRv = '10';
  lists = 0;
  watches: { options: WatchClustersOptions; events: Subject<ClusterWatchEvent> }[] = [];

  async listClusters(o: ListClustersOptions = {}): Promise<ClusterList> {
    this.lists++;
    const from = Number(o.continue ?? 0);
    const items = this.state.slice(from, from + 2);
    const next = from + 2 < this.state.length ? String(from + 2) : undefined;
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

describe('ClusterMirror', () => {
  let registry: FakeRegistry;
  let mirror: ClusterMirror;

  beforeEach(async () => {
    registry = new FakeRegistry();
    registry.state = [cluster('a', '1', { env: 'prod' }), cluster('b', '2'), cluster('c', '3', {}, false)];
    mirror = new ClusterMirror(registry, () => undefined, 2);
    mirror.start();
    await mirror.synced;
  });
  afterEach(() => mirror.stop());

  it('lists every page, then watches from the list\'s resourceVersion', () => {
    expect(mirror.names().sort()).toEqual(['a', 'b', 'c']);
    expect(registry.last.options.resourceVersion).toBe('10');
    expect(mirror.ready('a')).toBe(true);
    expect(mirror.readiness('c')).toEqual({ ready: false, reason: 'ClusterNotReachable', message: 'm' });
    expect(mirror.labelsOf('a')).toEqual({ env: 'prod' });
    expect(mirror.labelsOf('zz')).toBeUndefined();
  });

  it('applies changes, tells label listeners only about label changes, and change listeners about every change', () => {
    const labelCalls: number[] = [];
    const changes: string[] = [];
    mirror.onLabelsChanged(() => labelCalls.push(1));
    mirror.onChange((name, before, after) => changes.push(`${name}:${before ? 'had' : 'new'}:${after ? 'has' : 'gone'}`));
    registry.last.events.next({ type: 'MODIFIED', object: cluster('b', '11') }); // status-only change
    expect(labelCalls).toHaveLength(0);
    registry.last.events.next({ type: 'MODIFIED', object: cluster('b', '12', { env: 'dev' }) });
    registry.last.events.next({ type: 'ADDED', object: cluster('d', '13') });
    registry.last.events.next({ type: 'DELETED', object: cluster('a', '14') });
    expect(labelCalls).toHaveLength(3);
    expect(changes).toEqual(['b:had:has', 'b:had:has', 'd:new:has', 'a:had:gone']);
    expect(mirror.get('a')).toBeUndefined();
    expect(mirror.labelsOf('b')).toEqual({ env: 'dev' });
  });

  it('resumes a failed or ended watch from the last resourceVersion seen (events and bookmarks), without re-listing', async () => {
    registry.last.events.next({ type: 'MODIFIED', object: cluster('b', '15') });
    registry.last.events.next({ type: 'BOOKMARK', resourceVersion: '17' });
    registry.last.events.error(new Error('UNAVAILABLE'));
    await eventually(() => expect(registry.watches).toHaveLength(2));
    expect(registry.last.options.resourceVersion).toBe('17');
    registry.last.events.complete();
    await eventually(() => expect(registry.watches).toHaveLength(3));
    expect(registry.last.options.resourceVersion).toBe('17');
    expect(registry.lists).toBe(2);
  });

  it('re-lists on 410 Expired, dropping clusters deleted meanwhile', async () => {
    registry.state = [cluster('a', '20'), cluster('e', '21')];
    registry.listRv = '30';
    const gone: string[] = [];
    mirror.onChange((name, _b, after) => !after && gone.push(name));
    registry.last.events.error(ClusterErrors.watchExpired('10'));
    await eventually(() => expect(registry.last.options.resourceVersion).toBe('30'));
    expect(mirror.names().sort()).toEqual(['a', 'e']);
    expect(gone.sort()).toEqual(['b', 'c']);
  });
});
