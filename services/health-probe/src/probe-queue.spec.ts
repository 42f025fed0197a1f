import { Fifo, ProbeQueue, ProbeQueueWorker } from './probe-queue';

// The queue with a fake clock: tick() is called by the test, never by a timer.

function harness(config: { concurrency?: number; suspectConcurrency?: number; slowAfterMs?: number } = {}) {
  let now = 1_000;
  const runs: string[] = [];
  const release = new Map<string, () => void>();
  const suspect = new Set<string>();
  const refused = new Set<string>();
  const worker: ProbeQueueWorker = {
    laneFor: (key) => (suspect.has(key) ? 'suspect' : 'main'),
    admit: (key) => !refused.has(key),
    run: (key) => {
      runs.push(key);
      return new Promise<void>((resolve) => release.set(key, resolve));
    },
  };
  const q = new ProbeQueue({ concurrency: 1, suspectConcurrency: 1, slowAfterMs: 500, tickMs: 10, now: () => now, ...config }, worker);
  const settle = () => new Promise((r) => setImmediate(r));
  return {
    q,
    runs,
    suspect,
    refused,
    at: (t: number) => {
      now = t;
      q.tick();
    },
    async finish(key: string) {
      release.get(key)!();
      await settle();
    },
  };
}

describe('ProbeQueue', () => {
  it('runs a key once it is due, not before', () => {
    const h = harness();
    h.q.schedule('a', 1_100);
    h.at(1_090);
    expect(h.runs).toEqual([]);
    h.at(1_100);
    expect(h.runs).toEqual(['a']);
  });

  it('bounds each lane: a due key waits for a free slot, then starts when a run settles', async () => {
    const h = harness();
    h.q.schedule('a', 1_010);
    h.q.schedule('b', 1_010);
    h.at(1_010);
    expect(h.runs).toEqual(['a']);
    expect(h.q.load()).toEqual({ main: { queued: 1, inFlight: 1 }, suspect: { queued: 0, inFlight: 0 } });
    await h.finish('a');
    expect(h.runs).toEqual(['a', 'b']);
  });

  it('queues a failing key in the suspect lane, where it holds no main-lane slot', () => {
    const h = harness();
    h.suspect.add('sick');
    h.q.schedule('sick', 1_010);
    h.q.schedule('fine', 1_010);
    h.at(1_010);
    expect(h.runs.sort()).toEqual(['fine', 'sick']);
    expect(h.q.load()).toEqual({ main: { queued: 0, inFlight: 1 }, suspect: { queued: 0, inFlight: 1 } });
  });

  it('moves a main-lane run slower than slowAfterMs to the suspect lane, freeing its slot', () => {
    const h = harness();
    h.q.schedule('slow', 1_010);
    h.q.schedule('next', 1_020);
    h.at(1_020);
    expect(h.runs).toEqual(['slow']);
    h.at(1_519); // started at 1,020
    expect(h.runs).toEqual(['slow']);
    h.at(1_520);
    expect(h.runs).toEqual(['slow', 'next']);
    expect(h.q.load()).toEqual({ main: { queued: 0, inFlight: 1 }, suspect: { queued: 0, inFlight: 1 } });
  });

  it('never runs a removed key, and gives a refused one no slot', () => {
    const h = harness();
    h.q.schedule('gone', 1_010);
    h.q.schedule('refused', 1_010);
    h.q.schedule('ok', 1_010);
    h.q.remove('gone');
    h.refused.add('refused');
    h.at(1_010);
    expect(h.runs).toEqual(['ok']);
  });

  it('keeps only the latest schedule of a key', () => {
    const h = harness();
    h.q.schedule('a', 1_010);
    h.q.schedule('a', 2_000);
    h.at(1_500);
    expect(h.runs).toEqual([]);
    h.at(2_000);
    expect(h.runs).toEqual(['a']);
  });
});

describe('Fifo', () => {
  it('keeps order across the compaction of its taken head', () => {
    const f = new Fifo<number>();
    const out: number[] = [];
    for (let i = 0; i < 5000; i++) {
      f.push(i);
      if (i % 3 === 0) out.push(f.shift()!);
    }
    while (f.size > 0) out.push(f.shift()!);
    expect(out).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(f.shift()).toBeUndefined();
  });
});
