/**
 * At most `limit` calls of `run` at once; the rest wait in order. For calls into a shared service
 * (the registry and its database pool) from work that runs with a much higher concurrency.
 * A call run with `{ first: true }` waits ahead of the others (still in order among its kind):
 * for the few calls everything else depends on, e.g. health-probe's credential batches, which
 * must not wait behind thousands of status writes.
 */
export class ConcurrencyLimit {
  private active = 0;
  private readonly waitingFirst: (() => void)[] = [];
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a whole number of at least 1');
  }

  async run<T>(work: () => Promise<T>, options: { first?: boolean } = {}): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => (options.first ? this.waitingFirst : this.waiting).push(resolve));
    else this.active++;
    try {
      return await work();
    } finally {
      const next = this.waitingFirst.shift() ?? this.waiting.shift();
      // The slot passes straight to the next waiter; otherwise it is freed.
      if (next) next();
      else this.active--;
    }
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.waitingFirst.length + this.waiting.length;
  }
}
