import { ClusterHandle, KubeEmulator } from '@flotilla/kube-emulator';
import { eventually } from '@flotilla/testing';
import { parseKubeconfig } from '../kubeconfig/kubeconfig';
import { MemberClient } from '../member/member-client';
import { MemberAddressPolicy } from '../net/address-policy';
import { MemberApplier } from './member-applier';
import { hashOf, placed } from './testing';
import type { ManagedEvent } from './types';

type Json = Record<string, any>;

const policy = new MemberAddressPolicy({ allowLoopback: true });

describe('watchManaged: what Flotilla placed in a member, metadata only', () => {
  let emu: KubeEmulator;
  let member: ClusterHandle;
  let admin: MemberClient;
  let applier: MemberApplier;

  beforeAll(async () => {
    emu = await KubeEmulator.start({ clusters: 0, bookmarkIntervalMs: 200 });
    member = await emu.addCluster({ name: 'w1', flavour: 'kubeadm' });
    admin = new MemberClient(parseKubeconfig(member.kubeconfig('admin')), 5000, { policy });
    await admin.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } });
    applier = new MemberApplier('w1', parseKubeconfig(member.kubeconfig('admin')), { policy, watchBackoffMaxMs: 500, discoveryRefreshMs: 200 });
  });
  afterAll(async () => {
    applier?.close();
    admin?.close();
    await emu?.stop();
  });

  it('lists, sees edits and deletions made in the member, survives the member going down, relists after 410', async () => {
    const a = placed('v1', 'ConfigMap', 'apps', 'a', { data: { k: '1' } });
    const b = placed('v1', 'ConfigMap', 'apps', 'b', { data: { k: '1' } });
    await applier.apply(a, { adopt: false });
    await applier.apply(b, { adopt: false });
    await admin.request('POST', '/api/v1/namespaces/apps/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unmanaged' } });
    const events: ManagedEvent[] = [];
    const names = (type: string) => events.filter((e) => e.type === type).map((e) => e.ref.name);
    const handle = applier.watchManaged(
      [
        { apiVersion: 'v1', kind: 'ConfigMap' },
        { apiVersion: 'example.com/v1', kind: 'Gadget' },
      ],
      (e) => events.push(e),
    );
    try {
      await eventually(() => expect(handle.synced()).toBe(true));
      expect(names('ADDED').sort()).toEqual(['a', 'b']);
      expect(events.find((e) => e.ref.name === 'a')).toMatchObject({ ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'apps' }, hash: hashOf(a), federatedObject: 'federatedconfigmaps.types.kubefed.io/apps/a', resourceVersion: expect.any(String) });
      expect(events.filter((e) => e.type === 'RELISTED').map((e) => e.ref.kind).sort()).toEqual(['ConfigMap', 'Gadget']);

      // kubectl edit in the member: the hash annotation is untouched but the object changed.
      const cur = (await admin.request<Json>('GET', '/api/v1/namespaces/apps/configmaps/a')).body;
      await admin.request('PUT', '/api/v1/namespaces/apps/configmaps/a', { ...cur, data: { k: 'edited' } });
      await eventually(() => expect(names('MODIFIED')).toContain('a'));
      await admin.request('DELETE', '/api/v1/namespaces/apps/configmaps/b');
      await eventually(() => expect(names('DELETED')).toEqual(['b']));

      // The member stops and starts: the watch resumes from its resourceVersion.
      await member.down();
      await member.up();
      const c = placed('v1', 'ConfigMap', 'apps', 'c', { data: { k: '1' } });
      await eventually(async () => expect(await applier.apply(c, { adopt: false })).toMatchObject({ result: 'applied' }));
      await eventually(() => expect(names('ADDED')).toContain('c'));

      // Interrupted while the member forgets its history: resuming answers 410, a relist reports the deletion.
      const relisted = events.filter((e) => e.type === 'RELISTED').length;
      const unblock = member.setErrorRate({ regex: /^\/api\/v1\/configmaps$/, rate: 1, code: 503 });
      await member.down();
      await member.up();
      await admin.request('DELETE', '/api/v1/namespaces/apps/configmaps/c');
      member.compact();
      unblock();
      await eventually(() => expect(events.filter((e) => e.type === 'RELISTED').length).toBeGreaterThan(relisted), { timeoutMs: 15_000 });
      expect(names('DELETED')).toEqual(['b', 'c']);
      expect(events.some((e) => e.ref.name === 'unmanaged')).toBe(false);

      // A kind that comes to be served later is watched then.
      await admin.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'gadgets.example.com' },
        spec: {
          group: 'example.com',
          scope: 'Cluster',
          names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', listKind: 'GadgetList' },
          versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
        },
      });
      const g = placed('example.com/v1', 'Gadget', undefined, 'g1', { spec: {} }, 'clusterfederatedobjects.types.flotilla.io//g1');
      await eventually(async () => expect(await applier.apply(g, { adopt: false })).toMatchObject({ result: 'applied' }));
      await eventually(() => expect(events.find((e) => e.ref.name === 'g1')).toMatchObject({ type: 'ADDED', ref: { kind: 'Gadget', apiVersion: 'example.com/v1' }, hash: hashOf(g) }), { timeoutMs: 15_000 });

      handle.update([{ apiVersion: 'example.com/v1', kind: 'Gadget' }]);
      const before = events.length;
      await applier.apply(placed('v1', 'ConfigMap', 'apps', 'after-update', { data: {} }), { adopt: false });
      await applier.apply(placed('example.com/v1', 'Gadget', undefined, 'g2', { spec: {} }, 'clusterfederatedobjects.types.flotilla.io//g2'), { adopt: false });
      await eventually(() => expect(events.slice(before).map((e) => e.ref.name)).toEqual(['g2']));
    } finally {
      handle.stop();
    }
  });
});

describe('per-member limits', () => {
  let emu: KubeEmulator;
  const appliers: MemberApplier[] = [];
  afterAll(async () => {
    for (const a of appliers) a.close();
    await emu?.stop();
  });

  it('holds concurrency and QPS per member, and a slow member does not hold up another', async () => {
    emu = await KubeEmulator.start({ clusters: 0 });
    const slow = await emu.addCluster({ name: 'slow', flavour: 'eks' });
    const fast = await emu.addCluster({ name: 'fast', flavour: 'eks' });
    const ref = (i: number) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: `cm-${i}` });
    const make = (h: ClusterHandle, concurrency: number, qps: number) => {
      const a = new MemberApplier(h.name, parseKubeconfig(h.kubeconfig('admin')), { policy, concurrency, qps });
      appliers.push(a);
      return a;
    };
    const slowApplier = make(slow, 2, 1000);
    const fastApplier = make(fast, 8, 5);
    await slowApplier.resolve('v1', 'ConfigMap');
    await fastApplier.resolve('v1', 'ConfigMap');

    slow.setLatency(300);
    slow.recordRequests();
    fast.recordRequests();
    const t0 = Date.now();
    const slowDone = Promise.all(Array.from({ length: 8 }, (_, i) => slowApplier.get(ref(i))));
    slowDone.catch(() => undefined);
    await new Promise((r) => setImmediate(r)); // past the (cached) discovery lookup
    expect(slowApplier.queueDepth()).toBe(8);
    // Four: the discovery read above took the fifth start of this second.
    const fastDone = Promise.all(Array.from({ length: 4 }, (_, i) => fastApplier.get(ref(i))));
    await fastDone;
    expect(Date.now() - t0).toBeLessThan(600); // the slow member's queue is its own
    const more = Promise.all(Array.from({ length: 8 }, (_, i) => fastApplier.get(ref(10 + i))));
    await more;
    await slowDone;
    // Concurrency 2 at 300 ms each: 8 requests take four rounds; no third request ever arrives within a round.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1150);
    const slowTimes = slow.requests().map((r) => r.at.getTime());
    for (let i = 2; i < slowTimes.length; i++) expect(slowTimes[i]! - slowTimes[i - 2]!).toBeGreaterThanOrEqual(250);
    // QPS 5: in any window of a second, at most five of the fast member's 12 requests.
    const fastTimes = fast.requests().map((r) => r.at.getTime());
    expect(fastTimes).toHaveLength(12);
    for (let i = 5; i < fastTimes.length; i++) expect(fastTimes[i]! - fastTimes[i - 5]!).toBeGreaterThanOrEqual(900); // arrival jitter (new connections) aside
    expect(slowApplier.queueDepth() + fastApplier.queueDepth()).toBe(0);
  });
});
