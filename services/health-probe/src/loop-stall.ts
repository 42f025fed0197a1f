/**
 * How long this process's event loop has been stalled lately: a timer due every `periodMs`
 * records how late each turn fires. A probe that times out while the replica's own loop stalled
 * for a good part of its timeout says nothing about the member (its answer may have waited unread
 * behind the replica's other work), so the probe cycle does not count it (ADR 0039).
 */
export class LoopStallMeter {
  /** Ring of the last turns: when each fired (performance.now() ms) and how late. */
  private readonly at: Float64Array;
  private readonly late: Float64Array;
  private next = 0;
  private count = 0;
  private last = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly periodMs = 50,
    private readonly now: () => number = () => performance.now(),
    capacity = 4096,
  ) {
    this.at = new Float64Array(capacity);
    this.late = new Float64Array(capacity);
  }

  start(): void {
    if (this.timer) return;
    this.last = this.now();
    this.timer = setInterval(() => this.sample(), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Milliseconds the loop was stalled since `since` (a `now()` time), a stall still in progress
   * included. Turns older than the ring holds (4,096 turns, about 200 s at 50 ms) are not counted.
   */
  stalledSince(since: number): number {
    const now = this.now();
    let total = this.timer ? Math.max(0, now - this.last - this.periodMs) : 0;
    const capacity = this.at.length;
    for (let i = 1; i <= this.count; i++) {
      const k = (this.next - i + capacity) % capacity;
      if (this.at[k] <= since) break;
      total += this.late[k];
    }
    return total;
  }

  /** One timer turn: how late it came (tests call it with their own clock). */
  sample(): void {
    const now = this.now();
    this.at[this.next] = now;
    this.late[this.next] = Math.max(0, now - this.last - this.periodMs);
    this.next = (this.next + 1) % this.at.length;
    this.count = Math.min(this.count + 1, this.at.length);
    this.last = now;
  }
}
