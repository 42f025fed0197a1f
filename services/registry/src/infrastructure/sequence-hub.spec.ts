import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { ServiceRuntime } from '@flotilla/service-kit';
import { eventually } from '@flotilla/testing';
import { NotifyChannel } from './change-listener';
import { SequenceHub, SequenceHubOptions, SequenceSource } from './sequence-hub';

interface Item {
  seq: bigint;
  key: string;
}
interface Batch {
  items: Item[];
  at: string;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** An in-memory sequence table; every query yields first, so reads interleave with writes. */
class Table implements SequenceSource<Item, string> {
  readonly rows: Item[] = [];
  failNext?: Error;
  /** While set, head() waits on it (headWaiting says it does). */
  headGate?: Promise<void>;
  headWaiting = false;

  append(key: string): bigint {
    const seq = BigInt(this.rows.length + 1);
    this.rows.push({ seq, key });
    return seq;
  }
  async head(): Promise<bigint> {
    await turn();
    if (this.headGate) {
      this.headWaiting = true;
      await this.headGate;
    }
    return BigInt(this.rows.length);
  }
  async page(after: string, limit: number, filter: string | undefined) {
    await turn();
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure) throw failure;
    const from = BigInt(after);
    const items = this.rows.filter((r) => r.seq > from && (filter === undefined || r.key === filter)).slice(0, limit);
    return { items, reached: items.length === limit ? items[limit - 1]!.seq : BigInt(this.rows.length) };
  }
  position = (item: Item) => item.seq;
  matches = (item: Item, key: string) => item.key === key;
}

/** What a stream received, and how it ended. */
function collect(hub: SequenceHub<Item, string, Batch>, since: string, key?: string, ready: () => Promise<void> = turn) {
  const got = { batches: [] as Batch[], done: false, error: undefined as unknown };
  const sub = hub.watch(since, key, ready).subscribe({
    next: (b) => got.batches.push(b),
    complete: () => (got.done = true),
    error: (e: unknown) => (got.error = e),
  });
  return { got, seqs: () => got.batches.flatMap((b) => b.items.map((i) => Number(i.seq))), unsubscribe: () => sub.unsubscribe() };
}

describe('SequenceHub', () => {
  let runtime: ServiceRuntime;
  let table: Table;
  let wake: () => void;

  async function startHub(options: Partial<SequenceHubOptions<Item, Batch>> = {}, bookmarkMs = 60_000) {
    // The registry's ChangeListener, as the hub uses it: one handler for its channel.
    const listener = {
      on: (channel: NotifyChannel, handler: (payload: string | undefined) => void) => {
        expect(channel).toBe(NotifyChannel.clusterEvents);
        wake = () => handler(undefined);
        return () => undefined;
      },
    };
    const hub = new SequenceHub<Item, string, Batch>(table, listener, runtime, { pollMs: 60_000, bookmarkMs }, {
      channel: NotifyChannel.clusterEvents,
      drain: 'test-watchers',
      gauge: { name: 'flotilla_test_watchers', help: 'test' },
      catchUpPage: 10,
      readPage: 7,
      sendEmpty: false,
      batch: (items, position) => ({ items, at: position.toString() }),
      readerFailed: 'test reader failed',
      shuttingDown: 'shutting down: watch again',
      ...options,
    });
    await hub.start();
    return hub;
  }

  beforeEach(() => {
    runtime = new ServiceRuntime('sequence-hub-spec', 'silent');
    table = new Table();
  });
  afterEach(() => runtime.shutdown.drain(runtime.logger));

  it('catches a new stream up from the table, then joins the fan-out without loss or duplicates while the reader runs', async () => {
    for (let i = 0; i < 300; i++) table.append(i % 3 === 0 ? 'a' : 'b');
    const hub = await startHub();
    const early = collect(hub, '300'); // live at once: the reader fans out all along
    const all = collect(hub, '0');
    const onlyA = collect(hub, '0', 'a');
    const middle = collect(hub, '150');
    for (let i = 300; i < 600; i++) {
      table.append(i % 3 === 0 ? 'a' : 'b');
      wake();
      await turn();
    }
    const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i + 1);
    await eventually(() => {
      expect(all.seqs()).toEqual(range(0, 600));
      expect(middle.seqs()).toEqual(range(150, 600));
      expect(early.seqs()).toEqual(range(300, 600));
      expect(onlyA.seqs()).toEqual(range(0, 600).filter((s) => (s - 1) % 3 === 0));
    });
    // Every batch stands at or after its last item, and positions only move on.
    for (const s of [all, middle, early, onlyA]) {
      const ats = s.got.batches.map((b) => BigInt(b.at));
      ats.forEach((at, i) => expect(at >= (i > 0 ? ats[i - 1]! : 0n)).toBe(true));
      for (const b of s.got.batches) for (const item of b.items) expect(item.seq <= BigInt(b.at)).toBe(true);
    }
    expect(hub.watcherCount).toBe(4);
  });

  it('sends the first batch even when empty, then only batches with items of the stream', async () => {
    table.append('a');
    const quiet = collect(await startHub(), '1', 'a');
    await eventually(() => expect(quiet.got.batches).toEqual([{ items: [], at: '1' }]));
    table.append('b');
    wake();
    table.append('a');
    wake();
    await eventually(() => expect(quiet.got.batches.at(-1)).toEqual({ items: [{ seq: 3n, key: 'a' }], at: '3' }));
    expect(quiet.got.batches).toHaveLength(2);
  });

  it('with sendEmpty, sends a batch at every read, even with nothing of the stream', async () => {
    table.append('a');
    const exact = collect(await startHub({ sendEmpty: true }), '1', 'a');
    await eventually(() => expect(exact.got.batches).toHaveLength(1));
    table.append('b');
    wake();
    await eventually(() => expect(exact.got.batches).toEqual([{ items: [], at: '1' }, { items: [], at: '2' }]));
  });

  it('sends a bookmark at its position to an idle stream', async () => {
    table.append('a');
    const idle = collect(await startHub({}, 30), '0');
    await eventually(() => expect(idle.got.batches.length).toBeGreaterThanOrEqual(2));
    expect(idle.got.batches.at(-1)).toEqual({ items: [], at: '1' });
  });

  it('feeds a stream that joined while the reader was only reading the head', async () => {
    table.append('a');
    const hub = await startHub();
    let releaseHead: () => void = () => undefined;
    table.headGate = new Promise<void>((resolve) => (releaseHead = resolve));
    wake(); // nobody is live: the reader only reads the head, and waits at the gate
    await eventually(() => expect(table.headWaiting).toBe(true));
    const joined = collect(hub, '1');
    await eventually(() => expect(joined.got.batches).toEqual([{ items: [], at: '1' }]));
    table.append('b');
    table.append('a');
    releaseHead(); // the head read now says 3: the stream standing at 1 must still get 2 and 3
    await eventually(() => expect(joined.seqs()).toEqual([2, 3]));
  });

  it('ends live streams on a reader failure that asks for it, and keeps them on others', async () => {
    const hub = await startHub({ endsLiveStreams: (e) => e instanceof FlotillaError && e.reason === ErrorReason.Gone });
    const s = collect(hub, '0');
    await eventually(() => expect(s.got.batches).toHaveLength(1));
    table.failNext = new Error('connection lost');
    table.append('a');
    wake();
    await eventually(() => expect(table.failNext).toBeUndefined());
    wake();
    await eventually(() => expect(s.seqs()).toEqual([1]));
    table.failNext = new FlotillaError(ErrorReason.Gone, 'too old');
    table.append('a');
    wake();
    await eventually(() => expect((s.got.error as FlotillaError | undefined)?.reason).toBe(ErrorReason.Gone));
    expect(hub.watcherCount).toBe(0);
  });

  it('ends every stream at shutdown and refuses new ones', async () => {
    for (let i = 0; i < 50; i++) table.append('a');
    const hub = await startHub();
    const live = collect(hub, '50');
    const catchingUp = collect(hub, '0', undefined, () => new Promise(() => undefined)); // never gets room
    await eventually(() => expect(live.got.batches).toHaveLength(1));
    await eventually(() => expect(catchingUp.got.batches).toHaveLength(1));
    await runtime.shutdown.drain(runtime.logger);
    expect(live.got.done && catchingUp.got.done).toBe(true);
    expect(hub.watcherCount).toBe(0);
    const late = collect(hub, '0');
    await eventually(() => expect((late.got.error as FlotillaError | undefined)?.reason).toBe(ErrorReason.ServiceUnavailable));
  });
});
