/**
 * A work queue keyed by federated object, as a Kubernetes controller's: a key added many times
 * before it runs is reconciled once; a key added while it runs is reconciled again right after
 * (never twice at once); `after` delays a key (the earliest wish wins). At most `concurrency`
 * keys run at once.
 */
export class WorkQueue {
  private readonly ready = new Set<string>();
  private readonly running = new Set<string>();
  /** Keys added again while running. */
  private readonly dirty = new Set<string>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly work: (key: string) => Promise<void>,
    private readonly concurrency: number,
    private readonly onError: (key: string, error: unknown) => void,
  ) {}

  get depth(): number {
    return this.ready.size + this.running.size;
  }

  add(key: string): void {
    if (this.stopped) return;
    const d = this.delayed.get(key);
    if (d) {
      clearTimeout(d.timer);
      this.delayed.delete(key);
    }
    if (this.running.has(key)) this.dirty.add(key);
    else this.ready.add(key);
    this.pump();
  }

  /** Adds the key after `ms`, unless it is added (or already due) sooner. */
  after(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const held = this.delayed.get(key);
    if (held && held.at <= at) return;
    if (held) clearTimeout(held.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  /** Resolves when nothing is ready or running (delayed keys aside). */
  idle(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const d of this.delayed.values()) clearTimeout(d.timer);
    this.delayed.clear();
    this.ready.clear();
    this.dirty.clear();
    await this.idle();
  }

  private pump(): void {
    while (this.running.size < this.concurrency && this.ready.size > 0) {
      const key = this.ready.values().next().value as string;
      this.ready.delete(key);
      this.running.add(key);
      void this.run(key);
    }
    if (this.depth === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async run(key: string): Promise<void> {
    try {
      await this.work(key);
    } catch (error) {
      this.onError(key, error);
    } finally {
      this.running.delete(key);
      if (this.dirty.delete(key) && !this.stopped) this.ready.add(key);
      this.pump();
    }
  }
}

/** Per object+cluster retry delays: 500 ms doubling to `maxMs`, jittered to 50-100 % so members returning at once are not hit at once. */
export class Backoff {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly baseMs = 500,
    private readonly maxMs = 60_000,
  ) {}

  /** Records one more failure of `key` and returns the delay before the next attempt. */
  next(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const full = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(n - 1, 20));
    return Math.round(full * (0.5 + Math.random() * 0.5));
  }

  reset(key: string): void {
    this.failures.delete(key);
  }

  /** Forgets every key starting with `prefix` (an object that is gone). */
  forget(prefix: string): void {
    for (const k of this.failures.keys()) if (k.startsWith(prefix)) this.failures.delete(k);
  }
}
