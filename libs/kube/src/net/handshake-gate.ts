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
 * A permit is given back when the connection is up or failed, or after a hold limit at the latest:
 * a member that accepts TCP and never finishes TLS costs no CPU while it hangs, so it must not hold
 * a permit for the whole probe timeout and starve the others. The limit follows the handshakes this
 * gate has seen complete: four times their moving average, within [minHoldMs, maxHoldMs]. Fixed at
 * 1 s, 500 hanging members held every permit for 16 s a round, and their outage was not reported
 * in time (the 10,000-cluster bench); fixed low, members far away (a few round trips of 100 ms)
 * would lose their permits before their handshakes ended. When the replica is overloaded,
 * handshakes take longer, the limit grows with them, and the gate still bounds them. Without
 * handshakes completing, the average fades (half-life 5 s), so the limit follows the recent ones.
 */
export class HandshakeGate {
  private active = 0;
  private readonly waiting: Waiter[] = [];
  private head = 0;
  private waitingCount = 0;
  /** Moving average of how long a handshake held its permit until the connection was up, ms. */
  private typicalMs: number;
  /** When typicalMs was last updated (performance.now()). */
  private typicalAt = performance.now();

  constructor(
    readonly limit: number,
    private readonly maxHoldMs = 1_000,
    private readonly minHoldMs = 100,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a whole number of at least 1');
    this.typicalMs = maxHoldMs / HOLD_FACTOR;
  }

  /** How long a permit granted now may be held at most. */
  get holdLimitMs(): number {
    return Math.min(this.maxHoldMs, Math.max(this.minHoldMs, HOLD_FACTOR * this.typical()));
  }

  /**
   * Resolves with a release function once a permit is held (calling it twice is harmless; call it
   * with 'connected' when the connection came up, which times the handshake). Rejects with the
   * signal's reason when `signal` aborts first (the prober closed); the waiter is then forgotten
   * and takes no permit.
   */
  acquire(signal?: AbortSignal): Promise<Release> {
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

  /**
   * The moving average, fading (half-life TYPICAL_HALF_LIFE_MS) while no handshake completes: after a
   * cold start, whose handshakes were slow, a replica that keeps its connections completes few, and
   * the slow figure would hold the limit at its maximum long after (found in the bench: members
   * hanging in TLS were still reported late).
   */
  private typical(): number {
    return this.typicalMs * 2 ** (-(performance.now() - this.typicalAt) / TYPICAL_HALF_LIFE_MS);
  }

  /** Handshakes in progress (permits held). */
  get inProgress(): number {
    return this.active;
  }

  /** Connections waiting for a permit. */
  get queued(): number {
    return this.waitingCount;
  }

  private permit(): Release {
    let held = true;
    let timed = false;
    const granted = performance.now();
    const release: Release = (outcome) => {
      // A handshake that outlasted the hold limit is timed all the same: otherwise handshakes slowed
      // by an overloaded replica would never raise the limit, and the gate would stop bounding them.
      if (outcome === 'connected' && !timed) {
        timed = true;
        const now = performance.now();
        const typical = this.typical();
        this.typicalMs = typical + EWMA_WEIGHT * (now - granted - typical);
        this.typicalAt = now;
      }
      if (!held) return;
      held = false;
      clearTimeout(cap);
      this.next();
    };
    const cap = setTimeout(() => release(), this.holdLimitMs);
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

/** Gives a permit back; 'connected' when the connection came up (the handshake is then timed). */
export type Release = (outcome?: 'connected') => void;

/** The hold limit is this many times the typical handshake. */
const HOLD_FACTOR = 4;
/** Weight of the newest handshake in the moving average. */
const EWMA_WEIGHT = 0.1;
/** The average halves every this many ms without a completed handshake. */
const TYPICAL_HALF_LIFE_MS = 5_000;

interface Waiter {
  grant(): void;
  cleanup?(): void;
  cancelled?: boolean;
}
