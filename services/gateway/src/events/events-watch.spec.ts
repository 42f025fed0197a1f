import { Subject } from 'rxjs';
import type { ClusterEventBatch, ObjectChange, ObjectChangePage } from '@flotilla/clients';
import { ClusterEvent, ErrorReason, FEDERATION_EVENT_RESOURCE } from '@flotilla/domain';
import { eventually } from '@flotilla/testing';
import type { ChangeFeed, FeedEvent } from '../resources/change-feed';
import { parseEventSelector } from './event-query';
import { EventWatchEvent, EventsWatchPlan, watchEvents } from './events-watch';

const clusterEvent = (seq: string, reason: string): ClusterEvent => ({
  name: `prod.${seq}`,
  clusterName: 'prod',
  clusterUid: 'u',
  type: 'Normal',
  reason,
  message: reason,
  conditionType: 'Ready',
  fromStatus: 'False',
  toStatus: 'True',
  eventTime: '2026-01-01T00:00:00Z',
  reportingComponent: 'health-probe',
  resourceVersion: seq,
});

const change = (revision: string, name: string, type: ObjectChange['type'] = 'ADDED'): ObjectChange => ({
  type,
  revision,
  object: { resource: FEDERATION_EVENT_RESOURCE, namespace: 'shop', name, resourceVersion: revision, object: { apiVersion: 'v1', kind: 'Event', metadata: { name }, reason: name, involvedObject: { kind: 'FederatedDeployment', name: 'web' } } },
});

/** The registry's stream, the gateway's feed and the store's change log, driven by the test. */
function sources(log: ObjectChange[] = []) {
  const clusterStream = new Subject<ClusterEventBatch>();
  let feedHandler: ((e: FeedEvent) => void) | undefined;
  const since: string[] = [];
  const feed: ChangeFeed = {
    follow: (_resources, onEvent) => {
      feedHandler = onEvent;
      return () => (feedHandler = undefined);
    },
    caughtUp: async () => undefined,
  };
  return {
    clusterStream,
    since,
    feed: (e: FeedEvent) => feedHandler!(e),
    deps: {
      events: {
        watch: (o: { since?: string }) => {
          since.push(o.since ?? '');
          return clusterStream.asObservable();
        },
      },
      feed,
      store: {
        changes: async (from: string): Promise<ObjectChangePage> => ({ changes: log.filter((c) => BigInt(c.revision) > BigInt(from)), revision: log.length > 0 ? log[log.length - 1]!.revision : from }),
      },
      clusterUid: async () => 'cluster-uid',
      list: async () => ({ metadata: { resourceVersion: 'c5.o7' }, items: [{ apiVersion: 'v1', kind: 'Event', metadata: { name: 'old', namespace: 'default' }, reason: 'Old' }] }),
    },
  };
}

const plan = (over: Partial<EventsWatchPlan> = {}): EventsWatchPlan => ({
  api: 'core',
  namespace: '',
  selector: parseEventSelector({}, 'core'),
  query: {},
  clusters: true,
  federation: true,
  bookmarks: false,
  bookmarkMs: 60_000,
  caller: 'admin',
  ...over,
});

describe('watchEvents: one watch over the cluster event stream and the object change feed', () => {
  it('resumes both sources from the combined version; each event carries the version right after it', async () => {
    const s = sources([change('8', 'fed-a'), change('9', 'fed-b', 'MODIFIED')]);
    const got: EventWatchEvent[] = [];
    const sub = watchEvents(plan({ from: { cluster: '5', object: '7' } }), s.deps).subscribe((e) => got.push(e));
    expect(s.since).toEqual(['5']);
    // The feed listed at revision 9: the store's log fills 7..9, a change the feed holds meanwhile is sent once.
    s.feed({ type: 'CHANGE', change: change('9', 'fed-b', 'MODIFIED') });
    s.feed({ type: 'SYNC', items: [], revision: '9' });
    await eventually(() => expect(got.map((e) => `${e.type} ${String(e.object.reason)} ${String((e.object.metadata as { resourceVersion: string }).resourceVersion)}`)).toEqual(['ADDED fed-a c5.o8', 'MODIFIED fed-b c5.o9']));
    s.clusterStream.next({ events: [clusterEvent('6', 'ClusterReady')], version: '6' });
    await eventually(() => expect(got[2]).toMatchObject({ type: 'ADDED', object: { reason: 'ClusterReady', metadata: { namespace: 'default', resourceVersion: 'c6.o9' }, involvedObject: { uid: 'cluster-uid' } } }));
    s.feed({ type: 'CHANGE', change: change('10', 'fed-c', 'DELETED') });
    expect(got[3]).toMatchObject({ type: 'DELETED', object: { reason: 'fed-c', metadata: { namespace: 'shop', resourceVersion: 'c6.o10' } } });
    sub.unsubscribe();
  });

  it('without a version: the list\'s events as ADDED, then the watch from the list\'s version; bookmarks carry the version', async () => {
    const s = sources();
    const got: EventWatchEvent[] = [];
    const sub = watchEvents(plan({ bookmarks: true, bookmarkMs: 20, federation: false }), s.deps).subscribe((e) => got.push(e));
    await eventually(() => expect(got[0]).toMatchObject({ type: 'ADDED', object: { reason: 'Old', metadata: { resourceVersion: 'c5.o7' } } }));
    expect(s.since).toEqual(['5']);
    s.clusterStream.next({ events: [], version: '12' });
    await eventually(() => expect(got.find((e) => e.type === 'BOOKMARK' && (e.object.metadata as { resourceVersion: string }).resourceVersion === 'c12.o7')).toMatchObject({ object: { kind: 'Event', apiVersion: 'v1' } }));
    sub.unsubscribe();
  });

  it('ends with Gone when the feed has to list again, and cleanly when the registry ends its stream', async () => {
    const s = sources();
    let error: unknown;
    watchEvents(plan({ from: { cluster: '1', object: '1' } }), s.deps).subscribe({ error: (e: unknown) => (error = e) });
    s.feed({ type: 'SYNC', items: [], revision: '1' });
    s.feed({ type: 'SYNC', items: [], revision: '3' });
    expect(error).toMatchObject({ reason: ErrorReason.Gone });

    const t = sources();
    let completed = false;
    watchEvents(plan({ from: { cluster: '1', object: '1' }, federation: false }), t.deps).subscribe({ complete: () => (completed = true) });
    t.clusterStream.complete();
    expect(completed).toBe(true);
  });
});
