/** Why a request never started: the gate was closed or its queue was full. */
export class GateRefusedError extends Error {
  constructor(
    readonly why: 'closed' | 'full',
    message: string,
  ) {
    super(message);
    this.name = 'GateRefusedError';
  }
}

export interface RequestGateOptions {
  /** At most this many running at once (≥ 1). */
  concurrency: number;
  /** At most this many started in any window of one second (> 0; below 1, one per 1/qps seconds). */
  qps: number;
  /** Waiting requests at most; past it `run` fails at once. */
  maxQueued: number;
  now?(): number;
}

interface Waiting {
  start(): void;
  refuse(error: Error): void;
}

/**
 * The per-member limiter: FIFO, at most `concurrency` in flight and at most `qps` started in any
 * one-second window (a sliding window of start times, so a burst of `qps` is allowed and never
 * more). Each member has its own gate, so a slow member only ever queues its own requests.
 */
export class RequestGate {
  private readonly queue: (Waiting | undefined)[] = [];
  private head = 0;
  private running = 0;
  /** Start times of the last `slots` requests, a ring. */
  private readonly starts: number[];
  private next = 0;
  private readonly slots: number;
  private readonly windowMs: number;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: RequestGateOptions) {
    if (!(options.concurrency >= 1)) throw new Error(`concurrency must be at least 1, got ${options.concurrency}`);
    if (!(options.qps > 0)) throw new Error(`qps must be above 0, got ${options.qps}`);
    this.slots = Math.max(1, Math.floor(options.qps));
    this.windowMs = (this.slots * 1000) / options.qps;
    this.starts = new Array<number>(this.slots).fill(-Infinity);
    this.now = options.now ?? Date.now;
  }

  /** Requests running plus waiting. */
  depth(): number {
    return this.running + this.queue.length - this.head;
  }

  /** Runs `fn` when the limits allow; its result or error is the caller's. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new GateRefusedError('closed', 'the member client was closed (cluster removed or credentials rotated)'));
    if (this.queue.length - this.head >= this.options.maxQueued) {
      return Promise.reject(new GateRefusedError('full', `more than ${this.options.maxQueued} requests are waiting for this member`));
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        start: () => {
          this.running += 1;
          let p: Promise<T>;
          try {
            p = fn();
          } catch (error) {
            p = Promise.reject(error);
          }
          p.then(resolve, reject).finally(() => {
            this.running -= 1;
            this.pump();
          });
        },
        refuse: reject,
      });
      this.pump();
    });
  }

  private pump(): void {
    if (this.timer || this.closed) return;
    while (this.head < this.queue.length && this.running < this.options.concurrency) {
      const t = this.now();
      const oldest = this.starts[this.next]!;
      const wait = oldest + this.windowMs - t;
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, Math.ceil(wait));
        return;
      }
      this.starts[this.next] = t;
      this.next = (this.next + 1) % this.slots;
      const w = this.queue[this.head]!;
      this.queue[this.head] = undefined;
      this.head += 1;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      w.start();
    }
  }

  /** Refuses everything waiting and everything asked later; running requests finish. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const waiting = this.queue.slice(this.head);
    this.queue.length = 0;
    this.head = 0;
    for (const w of waiting) w?.refuse(new GateRefusedError('closed', 'the member client was closed (cluster removed or credentials rotated)'));
  }
}
