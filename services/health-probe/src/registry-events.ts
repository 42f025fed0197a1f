import { type ClusterEvent, FlotillaError } from '@flotilla/domain';

export interface RegistryEventBufferOptions {
  /** Sends one event to the registry (RecordClusterEvent: idempotent by the event's name). */
  send(event: ClusterEvent): Promise<void>;
  /** Events kept while the registry does not answer; past it the oldest are dropped (and counted). */
  capacity: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  /**
   * Events dropped: the buffer was `full` (the oldest go), or the registry `refused` one.
   * `handoffs` are the raw handoff entries among them (events taken from the Redis handoff,
   * event-handoff.ts): the caller returns a `full` one to the handoff and removes a `refused` one.
   */
  onDropped?(n: number, why: 'full' | 'refused', handoffs: string[]): void;
  /** An event taken from the handoff (its raw entry) is stored in the registry: the handoff may forget it. */
  onStored?(handoff: string): void;
  /** The registry stored an event again after failing: a good moment to take events handed off by stopped replicas. */
  onRecovered?(): void;
  /** The retries emptied the buffer. */
  onIdle?(): void;
  onError?(error: unknown): void;
}

/** One event waiting, with its raw handoff entry when it came from the Redis handoff. */
interface Entry {
  event: ClusterEvent;
  handoff?: string;
}

/** Only an unavailable or slow registry is worth waiting for; a refused event would be refused again. */
const retryable = (error: unknown) => !(error instanceof FlotillaError) || FlotillaError.isRetryable(error);

/**
 * Ready transitions on their way to Postgres (through the registry). A transition is recorded at
 * once when the registry answers; when it does not (the registry, or Postgres behind it, is down),
 * the event is kept in order in a bounded buffer and sent again with backoff until it lands. The
 * registry stores an event once by its name, so a retry whose first reply was lost is harmless.
 * Before this, a transition made during a Postgres restart was on the Redis stream but never in
 * `cluster_events` (issue 13's fault suite).
 *
 * At shutdown, flush() makes a last bounded attempt and takeRemaining() gives what is left to the
 * Redis handoff (event-handoff.ts, ADR 0037), from which any replica adopt()s it again.
 */
export class RegistryEventBuffer {
  private readonly buffer: Entry[] = [];
  private pumping?: Promise<void>;
  private stopped = false;
  private failures = 0;
  /** The last send failed (retryably): the next success is a recovery. */
  private failing = false;
  private retryTimer?: NodeJS.Timeout;

  constructor(private readonly options: RegistryEventBufferOptions) {}

  /** Events waiting for the registry. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Room left before the oldest events would be dropped. */
  get room(): number {
    return Math.max(0, this.options.capacity - this.buffer.length);
  }

  /** The last call to the registry failed and no call has succeeded since. */
  get unavailable(): boolean {
    return this.failing;
  }

  /** Records the event now if nothing older waits, else (or when the registry does not answer) keeps it for the retries. */
  async record(event: ClusterEvent): Promise<void> {
    if (this.buffer.length === 0 && !this.stopped) {
      try {
        await this.options.send(event);
        this.succeeded();
        return;
      } catch (error) {
        if (!retryable(error)) throw error;
        this.failing = true;
        this.options.onError?.(error);
      }
    }
    this.keep({ event });
  }

  /** Keeps an event taken from the Redis handoff (raw: its entry there) and sends it with the others. */
  adopt(event: ClusterEvent, handoff: string): void {
    if (this.stopped) return;
    this.keep({ event, handoff });
    if (!this.failing) this.kick();
  }

  private keep(entry: Entry): void {
    if (this.buffer.length >= this.options.capacity) {
      const dropped = this.buffer.splice(0, this.buffer.length - this.options.capacity + 1);
      this.options.onDropped?.(dropped.length, 'full', handoffsOf(dropped));
    }
    this.buffer.push(entry);
    this.schedule();
  }

  private succeeded(): void {
    this.failures = 0;
    if (!this.failing) return;
    this.failing = false;
    this.options.onRecovered?.();
  }

  private kick(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    void this.pump();
  }

  private schedule(): void {
    if (this.retryTimer || this.pumping || this.stopped) return;
    const min = this.options.retryMinMs ?? 200;
    const delay = Math.min(this.options.retryMaxMs ?? 5_000, min * 2 ** Math.min(this.failures, 10));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.pump();
    }, delay);
    this.retryTimer.unref();
  }

  /** One pump at a time; a second caller waits for the running one. */
  private pump(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.pumping ??= this.pumpOnce().finally(() => {
      this.pumping = undefined;
      if (this.buffer.length > 0) this.schedule();
    });
    return this.pumping;
  }

  private async pumpOnce(): Promise<void> {
    let sent = false;
    try {
      while (this.buffer.length > 0 && !this.stopped) {
        const entry = this.buffer[0]!;
        let stored = true;
        try {
          await this.options.send(entry.event);
          sent = true;
        } catch (error) {
          if (retryable(error)) throw error;
          stored = false;
          this.options.onDropped?.(1, 'refused', handoffsOf([entry]));
          this.options.onError?.(error);
        }
        // takeRemaining() may have emptied the buffer while the send was under way.
        if (this.buffer[0] === entry) this.buffer.shift();
        if (stored && entry.handoff !== undefined) this.options.onStored?.(entry.handoff);
        this.succeeded();
      }
      if (sent && this.buffer.length === 0 && !this.stopped) this.options.onIdle?.();
    } catch (error) {
      this.failures++;
      this.failing = true;
      this.options.onError?.(error);
    }
  }

  /**
   * The last attempts at shutdown: sends what waits, retrying with backoff, for at most `timeoutMs`
   * (one pass when 0), then no more retries. Returns how many events were not recorded: take them
   * with takeRemaining().
   */
  async flush(timeoutMs = 0): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let delay = this.options.retryMinMs ?? 200;
    for (;;) {
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      const left = deadline - Date.now();
      await (timeoutMs > 0 ? within(this.pump(), left) : this.pump());
      if (this.buffer.length === 0 || deadline - Date.now() <= delay) break;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, this.options.retryMaxMs ?? 5_000);
    }
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    return this.buffer.length;
  }

  /**
   * Empties the buffer (after flush()): this replica's own events, and the raw handoff entries of
   * the adopted ones (those are still in this replica's processing list in Redis).
   */
  takeRemaining(): { own: ClusterEvent[]; handoffs: string[] } {
    const entries = this.buffer.splice(0, this.buffer.length);
    return { own: entries.filter((e) => e.handoff === undefined).map((e) => e.event), handoffs: handoffsOf(entries) };
  }
}

const handoffsOf = (entries: Entry[]) => entries.flatMap((e) => (e.handoff === undefined ? [] : [e.handoff]));

/** Waits for the promise, for at most `ms` (it keeps running). */
function within(promise: Promise<void>, ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
