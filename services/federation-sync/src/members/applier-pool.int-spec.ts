import { createHash } from 'node:crypto';
import type { Cluster } from '@flotilla/domain';
import { ClusterHandle, KubeEmulator } from '@flotilla/kube-emulator';
import { type ManagedEvent, MemberAddressPolicy, MemberClient, parseKubeconfig } from '@flotilla/kube';
import { eventually } from '@flotilla/testing';
import { ApplierPool } from './applier-pool';
import type { CredentialsPort } from './member-credentials';
import { credentialsFromReader } from './member-credentials';

const policy = new MemberAddressPolicy({ allowLoopback: true });

function cluster(name: string, generation = 1): Cluster {
  return { apiVersion: 'cluster.kubesphere.io/v1alpha1', kind: 'Cluster', metadata: { name, uid: `uid-${name}`, generation, annotations: {} }, spec: { connection: { type: 'direct' } } } as unknown as Cluster;
}

function placed(name: string, data: Record<string, string>): Record<string, unknown> {
  const base = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default', labels: { 'federation.flotilla.io/managed-by': `default.${name}` }, annotations: { 'federation.flotilla.io/federated-object': `federatedconfigmaps.types.kubefed.io/default/${name}` } },
    data,
  };
  const hash = createHash('sha256').update(JSON.stringify(base)).digest('hex');
  return { ...base, metadata: { ...base.metadata, annotations: { ...base.metadata.annotations, 'federation.flotilla.io/hash': hash } } };
}

describe('ApplierPool: appliers for the live fleet', () => {
  let emu: KubeEmulator;
  const handles = new Map<string, ClusterHandle>();
  const calls: string[][] = [];
  const unreadable = new Set<string>();
  /** A stand-in for the registry's CredentialsReader: the emulated members' admin kubeconfigs. */
  const port: CredentialsPort = {
    async batch(names) {
      calls.push([...names]);
      const out = new Map();
      for (const n of names) {
        if (unreadable.has(n)) out.set(n, { error: 'the stored ciphertext does not open with the configured keys' });
        else if (handles.has(n)) out.set(n, { kubeconfig: handles.get(n)!.kubeconfig('admin') });
      }
      return out;
    },
  };
  let pool: ApplierPool;

  beforeAll(async () => {
    emu = await KubeEmulator.start({ clusters: 0 });
    for (const n of ['a', 'b', 'c']) handles.set(n, await emu.addCluster({ name: n, flavour: 'eks' }));
    pool = new ApplierPool({ credentials: port, policy, applier: { concurrency: 4, qps: 100, timeoutMs: 2000, watchBackoffMaxMs: 300 }, retryCredentialsMs: 0 });
  });
  afterAll(async () => {
    await pool?.close();
    await emu?.stop();
  });

  it('builds appliers with one batched credentials read, feeds known hashes from the watch, rebuilds on rotation, closes removed ones', async () => {
    await pool.sync([cluster('a'), cluster('b')]);
    expect(calls).toEqual([['a', 'b']]);
    const a = pool.applier('a')!;
    expect(a).toBeDefined();
    expect(pool.synced('a')).toBe(true); // nothing watched yet

    const seen: [string, ManagedEvent][] = [];
    const off = pool.onMemberChange((c, e) => seen.push([c, e]));
    pool.watchKinds([
      { apiVersion: 'v1', kind: 'ConfigMap' },
      { apiVersion: 'v1', kind: 'ConfigMap' },
    ]);
    await eventually(() => expect([pool.synced('a'), pool.synced('b')]).toEqual([true, true]));

    const cm = placed('web', { k: '1' });
    expect(await a.apply(cm, { adopt: false })).toMatchObject({ result: 'applied', unchanged: false });
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name: 'web' };
    const hash = (cm.metadata as { annotations: Record<string, string> }).annotations['federation.flotilla.io/hash'];
    await eventually(() => expect(pool.knownHash('a', ref)).toBe(hash));
    expect(pool.knownHash('b', ref)).toBeUndefined();
    expect(await a.apply(cm, { adopt: false, known: { hash: pool.knownHash('a', ref) } })).toMatchObject({ unchanged: true });

    const admin = new MemberClient(parseKubeconfig(handles.get('a')!.kubeconfig('admin')), 3000, { policy });
    await admin.request('DELETE', '/api/v1/namespaces/default/configmaps/web');
    admin.close();
    await eventually(() => expect(pool.knownHash('a', ref)).toBeUndefined());
    expect(seen.filter(([c]) => c === 'a').map(([, e]) => `${e.type} ${e.ref.name}`)).toEqual(expect.arrayContaining(['ADDED web', 'DELETED web', 'RELISTED ']));
    off();

    // b's credentials rotated (generation moved), c is new: one read for both; a is kept.
    const oldB = pool.applier('b')!;
    await pool.sync([cluster('a'), cluster('b', 2), cluster('c')]);
    expect(calls.slice(1)).toEqual([['b', 'c']]);
    expect(pool.applier('a')).toBe(a);
    expect(pool.applier('b')).not.toBe(oldB);
    expect(await oldB.apply(placed('x', {}), { adopt: false })).toMatchObject({ result: 'failed', reason: 'ClusterNotReady' });
    await eventually(() => expect(pool.synced('c')).toBe(true));
    expect([...pool.queueDepths().keys()].sort()).toEqual(['a', 'b', 'c']);

    // Removed from the fleet: closed.
    const c = pool.applier('c')!;
    await pool.sync([cluster('a'), cluster('b', 2)]);
    expect(pool.applier('c')).toBeUndefined();
    expect(await c.apply(placed('x', {}), { adopt: false })).toMatchObject({ result: 'failed', reason: 'ClusterNotReady' });
  });

  it('keeps an applier for a member that is down (its applies fail as ClusterNotReady) and says why a cluster has none', async () => {
    unreadable.add('d');
    await pool.sync([cluster('a'), cluster('b', 2), cluster('d'), cluster('ghost')]);
    expect(pool.applier('d')).toBeUndefined();
    expect(pool.unavailable('d')).toMatch(/cannot be opened: the stored ciphertext does not open/);
    expect(pool.unavailable('ghost')).toMatch(/ghost has no stored credentials/);
    expect(pool.synced('d')).toBe(false);

    await handles.get('b')!.down();
    try {
      expect(await pool.applier('b')!.apply(placed('y', {}), { adopt: false })).toMatchObject({ result: 'failed', reason: 'ClusterNotReady', retryable: true });
    } finally {
      await handles.get('b')!.up();
    }
    unreadable.delete('d');
    handles.set('d', await emu.addCluster({ name: 'd', flavour: 'kubeadm' }));
    await pool.sync([cluster('a'), cluster('b', 2), cluster('d')]);
    expect(pool.applier('d')).toBeDefined();
    await eventually(async () => expect(await pool.applier('b')!.apply(placed('y', {}), { adopt: false })).toMatchObject({ result: 'applied' }));
  });

  it('reads credentials through the registry reader, errors kept per name', async () => {
    const reader = { batchGet: async (names: readonly string[]) => ({ items: [{ name: names[0]!, uid: 'u', kubeconfig: 'k' }, { name: names[1]!, uid: 'v', error: 'cannot open' }], missing: [] }) };
    const got = await credentialsFromReader(reader).batch(['x', 'y']);
    expect(Object.fromEntries(got)).toEqual({ x: { kubeconfig: 'k' }, y: { error: 'cannot open' } });
  });
});
