import { type ClusterEvent, FlotillaError } from '@flotilla/domain';

export interface RegistryEventBufferOptions {
  /** Sends one event to the registry (RecordClusterEvent: idempotent by the event's name). */
  send(event: ClusterEvent): Promise<void>;
  /** Events kept while the registry does not answer; past it the oldest are dropped (and counted). */
  capacity: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  onDropped?(n: number, why: 'full' | 'refused'): void;
  onError?(error: unknown): void;
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
 */
export class RegistryEventBuffer {
  private readonly buffer: ClusterEvent[] = [];
  private pumping = false;
  private stopped = false;
  private failures = 0;
  private retryTimer?: NodeJS.Timeout;

  constructor(private readonly options: RegistryEventBufferOptions) {}

  /** Events waiting for the registry. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Records the event now if nothing older waits, else (or when the registry does not answer) keeps it for the retries. */
  async record(event: ClusterEvent): Promise<void> {
    if (this.buffer.length === 0 && !this.stopped) {
      try {
        await this.options.send(event);
        return;
      } catch (error) {
        if (!retryable(error)) throw error;
        this.options.onError?.(error);
      }
    }
    this.keep(event);
  }

  private keep(event: ClusterEvent): void {
    if (this.buffer.length >= this.options.capacity) {
      const drop = this.buffer.length - this.options.capacity + 1;
      this.buffer.splice(0, drop);
      this.options.onDropped?.(drop, 'full');
    }
    this.buffer.push(event);
    this.schedule();
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

  private async pump(): Promise<void> {
    if (this.pumping || this.stopped) return;
    this.pumping = true;
    try {
      while (this.buffer.length > 0 && !this.stopped) {
        try {
          await this.options.send(this.buffer[0]!);
        } catch (error) {
          if (retryable(error)) throw error;
          this.options.onDropped?.(1, 'refused');
          this.options.onError?.(error);
        }
        this.buffer.shift();
        this.failures = 0;
      }
    } catch (error) {
      this.failures++;
      this.options.onError?.(error);
    } finally {
      this.pumping = false;
      if (this.buffer.length > 0) this.schedule();
    }
  }

  /** One last pass (bounded by the caller's drain timeout), then no more retries; returns how many events were not recorded. */
  async flush(): Promise<number> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.pump();
    this.stopped = true;
    return this.buffer.length;
  }
}
