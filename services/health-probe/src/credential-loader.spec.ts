import { CredentialLoader, CredentialsUnavailableError } from './credential-loader';
import type { MemberCredentials } from './registry-port';

/** A registry whose batch reads the test answers by hand. */
function registry() {
  const calls: { names: string[]; answer: (m: Map<string, MemberCredentials | { error: string }>) => void; fail: (e: unknown) => void }[] = [];
  return {
    calls,
    source: {
      batch: (names: string[]) => new Promise<Map<string, MemberCredentials | { error: string }>>((answer, fail) => calls.push({ names, answer, fail })),
    },
    /** Answers call i with a token per name, except those listed. */
    answer(i: number, except: Record<string, { error: string } | undefined> = {}) {
      const m = new Map<string, MemberCredentials | { error: string }>();
      for (const n of calls[i]!.names) {
        if (n in except) {
          if (except[n]) m.set(n, except[n]!);
        } else m.set(n, { token: `t-${n}` });
      }
      calls[i]!.answer(m);
    },
  };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('CredentialLoader', () => {
  let now = 0;
  const options = { maxBatch: 3, windowMs: 1_000_000, keepMs: 60_000, now: () => now };

  it('reads prefetched clusters in batches of maxBatch and hands each credential out once', async () => {
    const r = registry();
    const loader = new CredentialLoader(r.source, options);
    loader.prefetch(['a', 'b', 'c', 'd']);
    expect(r.calls.map((c) => c.names)).toEqual([['a', 'b', 'c']]);
    loader.flush();
    expect(r.calls.map((c) => c.names)).toEqual([['a', 'b', 'c'], ['d']]);
    r.answer(0);
    r.answer(1);
    await settle();
    expect(loader.held).toBe(4);
    await expect(loader.load('b')).resolves.toEqual({ token: 't-b' });
    expect(loader.held).toBe(3);
    // Taken once: a second prober (after a 401, say) reads afresh.
    const again = loader.load('b');
    loader.flush();
    expect(r.calls[2]!.names).toEqual(['b']);
    r.answer(2);
    await expect(again).resolves.toEqual({ token: 't-b' });
    loader.stop();
  });

  it('sends at most maxInFlight batches at once; the next goes as soon as one is answered', async () => {
    const r = registry();
    const loader = new CredentialLoader(r.source, { ...options, maxInFlight: 2 });
    loader.prefetch(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    loader.flush();
    expect(r.calls.map((c) => c.names)).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e', 'f'],
    ]);
    r.answer(1);
    await settle();
    expect(r.calls.map((c) => c.names)).toEqual([['a', 'b', 'c'], ['d', 'e', 'f'], ['g']]);
    r.calls[0]!.fail(new Error('deadline'));
    r.answer(2);
    await settle();
    expect(r.calls).toHaveLength(3);
    expect(loader.held).toBe(4); // d, e, f, g; a, b, c failed and are asked for again by their probers
    loader.stop();
  });

  it('a request for a cluster whose batch is on its way joins it instead of reading again', async () => {
    const r = registry();
    const loader = new CredentialLoader(r.source, options);
    loader.prefetch(['a']);
    loader.flush();
    const p = loader.load('a');
    loader.flush();
    expect(r.calls).toHaveLength(1);
    r.answer(0);
    await expect(p).resolves.toEqual({ token: 't-a' });
    expect(loader.held).toBe(0);
    loader.stop();
  });

  it('a missing cluster or an unopenable ciphertext fails that cluster only; a failed call fails its batch and holds nothing', async () => {
    const r = registry();
    const loader = new CredentialLoader(r.source, options);
    const [a, gone, broken] = [loader.load('a'), loader.load('gone'), loader.load('broken')];
    r.answer(0, { gone: undefined, broken: { error: 'ciphertext does not authenticate under key "k1"' } });
    await expect(a).resolves.toEqual({ token: 't-a' });
    await expect(gone).rejects.toBeInstanceOf(CredentialsUnavailableError);
    await expect(broken).rejects.toThrow(/credentials of broken: ciphertext does not authenticate/);
    const later = loader.load('x');
    loader.prefetch(['y']);
    loader.flush();
    r.calls[1]!.fail(new Error('registry unavailable'));
    await expect(later).rejects.toThrow('registry unavailable');
    expect(loader.held).toBe(0);
    loader.stop();
  });

  it('drops credentials not taken within keepMs, and those of a cluster it is told to forget', async () => {
    const r = registry();
    const loader = new CredentialLoader(r.source, options);
    loader.prefetch(['a', 'b']);
    loader.flush();
    r.answer(0);
    await settle();
    loader.forget('a');
    expect(loader.held).toBe(1);
    now += 60_001;
    const stale = loader.load('b');
    loader.flush();
    // Too old to be used: read again.
    expect(r.calls[1]!.names).toEqual(['b']);
    r.answer(1);
    await expect(stale).resolves.toEqual({ token: 't-b' });
    loader.stop();
  });

  it('rejects what waits when stopped', async () => {
    const r = registry();
    const loader = new CredentialLoader(r.source, options);
    const p = loader.load('a');
    loader.stop();
    await expect(p).rejects.toThrow('credential loader stopped');
  });
});
