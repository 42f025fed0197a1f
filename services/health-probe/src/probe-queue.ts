import type { LaneName } from './probe-policy';

/** An array-backed FIFO whose taken head is dropped in chunks (Array.shift is O(n) per call). */
export class Fifo<T> {
  private readonly items: T[] = [];
  private head = 0;

  push(item: T): void {
    this.items.push(item);
  }

  get size(): number {
    return this.items.length - this.head;
  }

  peek(): T | undefined {
    return this.size > 0 ? this.items[this.head] : undefined;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }
}

/** One key's place in the queue. */
interface Item {
  readonly key: string;
  /** The wheel slot it waits in, when scheduled. */
  slot?: number;
  /** When its current (or next) run was due: the phase that the cadence keeps. */
  due?: number;
  queued: boolean;
  inFlight: boolean;
  /** The lane whose slot the run in flight holds. */
  lane?: Lane;
  /** Counts runs of this key, so that a stale slow-lane check never moves a later run. */
  runs: number;
  removed: boolean;
}

/** The due keys and the runs in flight for one concurrency bound. */
class Lane {
  /** Keys due for their first run since they were scheduled the first time: served first. */
  private readonly first = new Fifo<Item>();
  private readonly due = new Fifo<Item>();
  running = 0;

  constructor(readonly limit: number) {}

  push(item: Item): void {
    (item.runs === 0 ? this.first : this.due).push(item);
  }

  get queued(): number {
    return this.first.size + this.due.size;
  }

  /**
   * The next due item when a slot is free. A key never run goes before keys run already: when a
   * replica starting with (or taking over) thousands of keys falls behind, it covers every key
   * once before it runs any a second time (issue 13: every cluster probed within 30 s).
   */
  take(): Item | undefined {
    if (this.running >= this.limit) return undefined;
    return this.first.shift() ?? this.due.shift();
  }
}

export interface ProbeQueueConfig {
  /** Runs in flight in the main lane. */
  concurrency: number;
  /** Runs in flight in the suspect lane (failing keys, and main-lane runs slower than slowAfterMs). */
  suspectConcurrency: number;
  /** A main-lane run in flight this long moves to the suspect lane. */
  slowAfterMs: number;
  /** The wheel's slot width. */
  tickMs: number;
  now(): number;
}

/** What the queue runs; it knows nothing of clusters or health. */
export interface ProbeQueueWorker {
  /** The lane a key waits in once due. */
  laneFor(key: string): LaneName;
  /** Whether a key taken from its lane is still to run; when not, it takes no slot. */
  admit(key: string): boolean;
  /**
   * The work for a key; it holds a slot of its lane until it settles or calls `release` (the slot
   * is then free for others, but the key still counts as running: it is not started again until
   * the work settles). It may schedule the key again.
   */
  run(key: string, timing: { due?: number; startedAt: number }, release: () => void): Promise<void>;
}

/**
 * When each key runs, and how many run at once. Timers are a wheel of `tickMs` slots, so 10,000
 * keys cost one small timer; due keys wait in their lane's FIFO and each lane runs at most its
 * bound. A key is scheduled again only by its own run (or from outside), so runs of one key never
 * overlap. Main-lane runs still in flight after `slowAfterMs` move to the suspect lane, so a
 * hanging member holds no slot of the answering ones (ADR 0026).
 */
export class ProbeQueue {
  private readonly items = new Map<string, Item>();
  private readonly wheel = new Map<number, Set<Item>>();
  private readonly main: Lane;
  private readonly suspect: Lane;
  /** Main-lane runs in start order, to move those running longer than slowAfterMs. */
  private readonly started = new Fifo<{ item: Item; run: number; at: number }>();
  private readonly settled = new Set<Promise<void>>();
  private lastSlot: number;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly config: ProbeQueueConfig,
    private readonly worker: ProbeQueueWorker,
  ) {
    this.main = new Lane(config.concurrency);
    this.suspect = new Lane(config.suspectConcurrency);
    this.lastSlot = Math.floor(config.now() / config.tickMs);
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.tick(), this.config.tickMs);
  }

  /** Stop taking work and wait for the runs in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.settled]);
    this.items.clear();
    this.wheel.clear();
  }

  /** Per lane: keys due and waiting for a slot, and runs in flight. */
  load(): Record<LaneName, { queued: number; inFlight: number }> {
    return {
      main: { queued: this.main.queued, inFlight: this.main.running },
      suspect: { queued: this.suspect.queued, inFlight: this.suspect.running },
    };
  }

  /** (Re)schedules a key to run at `at` (at the next tick at the earliest). */
  schedule(key: string, at: number): void {
    let item = this.items.get(key);
    if (!item) this.items.set(key, (item = { key, queued: false, inFlight: false, runs: 0, removed: false }));
    this.unschedule(item);
    const slot = Math.max(Math.ceil(at / this.config.tickMs), this.lastSlot + 1);
    let bucket = this.wheel.get(slot);
    if (!bucket) this.wheel.set(slot, (bucket = new Set()));
    bucket.add(item);
    item.slot = slot;
    item.due = at;
  }

  /** Forgets a key; a run in flight finishes, and the key runs no more unless scheduled again. */
  remove(key: string): void {
    const item = this.items.get(key);
    if (!item) return;
    item.removed = true;
    this.unschedule(item);
    this.items.delete(key);
  }

  private unschedule(item: Item): void {
    if (item.slot === undefined) return;
    const bucket = this.wheel.get(item.slot);
    bucket?.delete(item);
    if (bucket && bucket.size === 0) this.wheel.delete(item.slot);
    item.slot = undefined;
  }

  /** Moves due keys to their lane, moves slow main-lane runs to the suspect lane, and starts runs up to each lane's bound. */
  tick(): void {
    if (this.stopped) return;
    const now = this.config.now();
    const current = Math.floor(now / this.config.tickMs);
    for (let s = this.lastSlot + 1; s <= current; s++) {
      const bucket = this.wheel.get(s);
      if (!bucket) continue;
      this.wheel.delete(s);
      for (const item of bucket) {
        if (item.removed || item.queued || item.inFlight) continue;
        item.slot = undefined;
        item.queued = true;
        this.lane(this.worker.laneFor(item.key)).push(item);
      }
    }
    this.lastSlot = current;
    this.moveSlowRuns(now);
    this.dispatch();
  }

  private lane(name: LaneName): Lane {
    return name === 'suspect' ? this.suspect : this.main;
  }

  /** A run slow to finish waits in the suspect lane: it no longer holds up the answering keys. */
  private moveSlowRuns(now: number): void {
    for (let s = this.started.peek(); s && s.at + this.config.slowAfterMs <= now; s = this.started.peek()) {
      this.started.shift();
      const { item, run } = s;
      if (!item.inFlight || item.runs !== run || item.lane !== this.main) continue;
      if (this.suspect.running >= this.suspect.limit) continue;
      this.main.running--;
      this.suspect.running++;
      item.lane = this.suspect;
    }
  }

  private dispatch(): void {
    for (const lane of [this.main, this.suspect]) {
      for (let item = lane.take(); item !== undefined; item = lane.take()) {
        if (item.removed) continue;
        item.queued = false;
        if (!this.worker.admit(item.key)) continue;
        this.begin(item, lane);
      }
    }
  }

  private begin(item: Item, lane: Lane): void {
    const startedAt = this.config.now();
    lane.running++;
    item.lane = lane;
    item.inFlight = true;
    const run = ++item.runs;
    if (lane === this.main) this.started.push({ item, run, at: startedAt });
    // The slot is given back once: when the worker says its part that needs one is done (the
    // probe; its status write then waits in the registry-call queue, holding no probe slot), or
    // when the run settles.
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      item.lane!.running--;
      item.lane = undefined;
      if (!this.stopped) queueMicrotask(() => this.dispatch());
    };
    const p = this.worker.run(item.key, { due: item.due, startedAt }, release).finally(() => {
      release();
      item.inFlight = false;
      this.settled.delete(p);
    });
    this.settled.add(p);
  }
}
