/**
 * At most `limit` TLS handshakes in progress at once for a process, the rest waiting in order.
 *
 * A handshake is the costly part of reaching a member (key exchange and certificate checks, a few
 * milliseconds of CPU each), and it is paid again on every new connection. A health-probe replica
 * that starts with, or takes over, thousands of clusters would otherwise start them all at once:
 * on a saturated event loop each then takes seconds, many pass the probe timeout, their
 * connections are dropped and the next probes handshake again (issue 13: healthy members reported
 * unreachable after an overloaded restart). Through the gate each handshake finishes in
 * milliseconds and the rest wait; the wait is not the member's time (a probe's timeout starts
 * once it holds a permit).
 *
 * A permit is given back when the connection is up or failed, or after `maxHoldMs` at the latest:
 * a member that accepts TCP and never finishes TLS costs no CPU while it hangs, so it must not hold
 * a permit for the whole probe timeout and starve the others.
 */
export class HandshakeGate {
  private active = 0;
  private readonly waiting: Waiter[] = [];
  private head = 0;
  private waitingCount = 0;

  constructor(
    readonly limit: number,
    private readonly maxHoldMs = 1_000,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a whole number of at least 1');
  }

  /**
   * Resolves with a release function once a permit is held (calling it twice is harmless). Rejects
   * with the signal's reason when `signal` aborts first (the prober closed); the waiter is then
   * forgotten and takes no permit.
   */
  acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason ?? new Error('aborted'));
    if (this.active < this.limit && this.queued === 0) {
      this.active++;
      return Promise.resolve(this.permit());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { grant: () => resolve(this.permit()) };
      if (signal) {
        const onAbort = () => {
          waiter.cancelled = true;
          this.waitingCount--;
          reject(signal.reason ?? new Error('aborted'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.waiting.push(waiter);
      this.waitingCount++;
    });
  }

  /** Handshakes in progress (permits held). */
  get inProgress(): number {
    return this.active;
  }

  /** Connections waiting for a permit. */
  get queued(): number {
    return this.waitingCount;
  }

  private permit(): () => void {
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      clearTimeout(cap);
      this.next();
    };
    const cap = setTimeout(release, this.maxHoldMs);
    cap.unref();
    return release;
  }

  /** A freed permit passes straight to the first waiter still waiting; otherwise it is freed. */
  private next(): void {
    while (this.head < this.waiting.length) {
      const waiter = this.waiting[this.head++];
      this.compact();
      if (waiter.cancelled) continue;
      this.waitingCount--;
      waiter.cleanup?.();
      waiter.grant();
      return;
    }
    this.active--;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
  }
}

interface Waiter {
  grant(): void;
  cleanup?(): void;
  cancelled?: boolean;
}
