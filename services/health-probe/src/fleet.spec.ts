import { Subject } from 'rxjs';
import { CLUSTER_API_VERSION, Cluster, ErrorReason, FlotillaError } from '@flotilla/domain';
import { eventually } from '@flotilla/testing';
import { FleetWatcher } from './fleet';
import type { ClusterPage, FleetChange, RegistryPort } from './registry-port';

const cluster = (name: string): Cluster => ({ apiVersion: CLUSTER_API_VERSION, kind: 'Cluster', metadata: { name, resourceVersion: '1' }, spec: { connection: { type: 'direct' } } });

/** A registry whose list answers come from `fleet` and whose watch streams the test drives. */
function fakeRegistry(fleet: Set<string>) {
  const watches: { rv: string; stream: Subject<FleetChange> }[] = [];
  let lists = 0;
  const client: Pick<RegistryPort, 'listClusters' | 'watchClusters'> = {
    listClusters: async (r): Promise<ClusterPage> => {
      lists++;
      const names = [...fleet].sort();
      const start = r.continue ? Number(r.continue) : 0;
      const page = names.slice(start, start + r.limit);
      const next = start + page.length < names.length ? String(start + page.length) : '';
      return { resourceVersion: `rv${lists}`, continue: next, items: page.map((n) => cluster(n)) };
    },
    watchClusters: (rv) => {
      const stream = new Subject<FleetChange>();
      watches.push({ rv, stream });
      return stream.asObservable();
    },
  };
  return { client, watches, lists: () => lists };
}

describe('FleetWatcher', () => {
  it('lists page by page, watches from the list version, and re-lists and re-watches after an error (410 Expired included)', async () => {
    const fleet = new Set(['a', 'b', 'c', 'd', 'e']);
    const reg = fakeRegistry(fleet);
    const known = new Set<string>();
    const errors: unknown[] = [];
    const w = new FleetWatcher(
      reg.client,
      { upsert: (c) => void known.add(c.metadata.name), remove: (n) => void known.delete(n), resync: (names) => [...known].forEach((n) => names.has(n) || known.delete(n)) },
      (e) => errors.push(e),
      2,
    );
    await w.start();
    expect([...known].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(reg.watches.map((x) => x.rv)).toEqual(['rv1']);
    reg.watches[0].stream.next({ type: 'ADDED', cluster: cluster('f') });
    reg.watches[0].stream.next({ type: 'DELETED', cluster: cluster('a') });
    expect([...known].sort()).toEqual(['b', 'c', 'd', 'e', 'f']);
    // While the watch is broken, 'b' is deleted and 'g' added: the re-list must see both.
    fleet.delete('a');
    fleet.delete('b');
    fleet.add('f');
    fleet.add('g');
    reg.watches[0].stream.error(new FlotillaError(ErrorReason.Gone, 'too old resource version'));
    await eventually(() => expect(reg.watches).toHaveLength(2), { timeoutMs: 3000 });
    expect([...known].sort()).toEqual(['c', 'd', 'e', 'f', 'g']);
    expect(reg.watches[1].rv).toMatch(/^rv\d+$/);
    expect(errors).toHaveLength(1);
    // A watch that simply ends is restarted too.
    reg.watches[1].stream.complete();
    await eventually(() => expect(reg.watches).toHaveLength(3), { timeoutMs: 3000 });
    w.stop();
  });
});
