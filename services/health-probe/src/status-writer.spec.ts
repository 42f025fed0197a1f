import { CLUSTER_API_VERSION, type Cluster, type ClusterStatus, ErrorReason, FlotillaError } from '@flotilla/domain';
import { ConcurrencyLimit } from '@flotilla/service-kit';
import { StatusWrite, StatusWriteResult, StatusWriter } from './status-writer';

/** A registry whose batch writes the test answers by hand. */
function registry() {
  const calls: { writes: StatusWrite[]; answer: (r: StatusWriteResult[]) => void; fail: (e: unknown) => void }[] = [];
  const stored = (w: StatusWrite, rv: number): Cluster => ({
    apiVersion: CLUSTER_API_VERSION,
    kind: 'Cluster',
    metadata: { name: w.name, resourceVersion: String(rv) },
    spec: { provider: 'kubeadm', connection: { type: 'direct' } },
    status: w.status,
  });
  return {
    calls,
    sink: { writeMany: (writes: StatusWrite[]) => new Promise<StatusWriteResult[]>((answer, fail) => calls.push({ writes, answer, fail })) },
    /** Stores every write of call i, except those named (refused with NotFound). */
    answer(i: number, refused: string[] = []) {
      calls[i]!.answer(
        calls[i]!.writes.map((w, j) => (refused.includes(w.name) ? { name: w.name, error: new FlotillaError(ErrorReason.NotFound, `${w.name} not found`) } : { name: w.name, cluster: stored(w, 100 * i + j) })),
      );
    },
  };
}

const status = (version: string): ClusterStatus => ({ kubernetesVersion: version });
const settle = () => new Promise((r) => setImmediate(r));

describe('StatusWriter', () => {
  const options = { maxBatch: 3, windowMs: 1_000_000 };

  it('sends writes in batches of maxBatch, and each caller gets its own cluster as stored', async () => {
    const r = registry();
    const writer = new StatusWriter(r.sink, options);
    const written = ['a', 'b', 'c', 'd'].map((n) => writer.write(n, status(`v-${n}`)));
    expect(r.calls.map((c) => c.writes.map((w) => w.name))).toEqual([['a', 'b', 'c']]);
    writer.flush();
    expect(r.calls.map((c) => c.writes.map((w) => w.name))).toEqual([['a', 'b', 'c'], ['d']]);
    expect(writer.queued).toBe(4);
    r.answer(1);
    r.answer(0);
    const clusters = await Promise.all(written);
    expect(clusters.map((c) => `${c.metadata.name} ${c.status?.kubernetesVersion}`)).toEqual(['a v-a', 'b v-b', 'c v-c', 'd v-d']);
    expect(writer.queued).toBe(0);
  });

  it('sends a lone write after windowMs, without waiting for a full batch', async () => {
    jest.useFakeTimers();
    try {
      const r = registry();
      const writer = new StatusWriter(r.sink, { maxBatch: 100, windowMs: 20 });
      const p = writer.write('a', status('v1'));
      jest.advanceTimersByTime(19);
      expect(r.calls).toHaveLength(0);
      jest.advanceTimersByTime(1);
      expect(r.calls).toHaveLength(1);
      r.answer(0);
      await expect(p).resolves.toMatchObject({ metadata: { name: 'a' } });
    } finally {
      jest.useRealTimers();
    }
  });

  it('a second write of a cluster still waiting replaces the first: one write sent, with the newer status, answering both', async () => {
    const r = registry();
    const writer = new StatusWriter(r.sink, options);
    const first = writer.write('a', status('old'));
    const second = writer.write('a', status('new'));
    writer.flush();
    expect(r.calls[0]!.writes).toEqual([{ name: 'a', status: status('new') }]);
    r.answer(0);
    expect((await first).status).toEqual(status('new'));
    expect((await second).status).toEqual(status('new'));
  });

  it('fails only the writes the registry refused, with the registry’s reason', async () => {
    const r = registry();
    const writer = new StatusWriter(r.sink, options);
    const a = writer.write('a', status('v'));
    const gone = writer.write('gone', status('v'));
    writer.flush();
    r.answer(0, ['gone']);
    await expect(a).resolves.toMatchObject({ metadata: { name: 'a' } });
    await expect(gone).rejects.toMatchObject({ reason: ErrorReason.NotFound });
  });

  it('fails every write of a batch the registry did not take (down, deadline), and takes the next ones', async () => {
    const r = registry();
    const writer = new StatusWriter(r.sink, options);
    const lost = [writer.write('a', status('v')), writer.write('b', status('v'))];
    writer.flush();
    r.calls[0]!.fail(new FlotillaError(ErrorReason.ServiceUnavailable, 'registry unavailable'));
    for (const p of lost) await expect(p).rejects.toMatchObject({ reason: ErrorReason.ServiceUnavailable });
    const next = writer.write('a', status('v2'));
    writer.flush();
    r.answer(1);
    await expect(next).resolves.toMatchObject({ status: status('v2') });
  });

  it('at stop, fails at once what is not sent, what waits for a registry-call slot and what waits for its answer', async () => {
    const r = registry();
    const slots = new ConcurrencyLimit(1);
    const writer = new StatusWriter(r.sink, { ...options, limit: (fn) => slots.run(fn) });
    const sent = writer.write('a', status('v'));
    writer.flush();
    const waitingForSlot = writer.write('b', status('v'));
    writer.flush();
    const notBatched = writer.write('c', status('v'));
    await settle();
    expect(r.calls).toHaveLength(1); // b's batch waits for the one slot
    writer.stop();
    for (const p of [sent, waitingForSlot, notBatched]) await expect(p).rejects.toMatchObject({ reason: ErrorReason.ServiceUnavailable });
    await expect(writer.write('d', status('v'))).rejects.toMatchObject({ reason: ErrorReason.ServiceUnavailable });
    // The registry's late answer changes nothing, and b's batch is never sent.
    r.answer(0);
    await settle();
    expect(r.calls).toHaveLength(1);
    expect(writer.queued).toBe(0);
  });
});
