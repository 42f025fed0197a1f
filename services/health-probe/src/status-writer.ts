import { type Cluster, type ClusterStatus, ErrorReason, FlotillaError } from '@flotilla/domain';

/** One status write, and what became of it (the registry's UpdateClusterStatuses). */
export interface StatusWrite {
  name: string;
  status: ClusterStatus;
}
export type StatusWriteResult = { name: string; cluster: Cluster } | { name: string; error: Error };

/** What the writer asks of the registry: many status writes in one call; results[i] answers writes[i]. */
export interface StatusSink {
  writeMany(writes: StatusWrite[]): Promise<StatusWriteResult[]>;
}

export interface StatusWriterOptions {
  /** Writes per registry call (the registry takes at most 500). */
  maxBatch: number;
  /** How long a write waits for others to join its batch. */
  windowMs: number;
  /** Runs one registry call (the replica's registry-call limiter). */
  limit?<T>(fn: () => Promise<T>): Promise<T>;
}

interface Pending {
  status: ClusterStatus;
  waiters: { resolve(c: Cluster): void; reject(e: unknown): void }[];
}

/**
 * Status writes, sent to the registry hundreds at a time. One at a time, each write was a registry
 * call and a transaction holding the registry's writers' lock for five round trips: at a
 * 10,000-cluster cold start on 2 busy cores the registry stored about 16 a second, and every
 * cluster's next probe waited for its write (bench/RESULTS.md). A batch is one call and one
 * transaction.
 *
 * A write waits at most `windowMs` for company. A second write of a cluster whose first is still
 * waiting replaces it (the newer status is the truth; both callers get the stored cluster). A
 * batch that fails as a whole (registry down, deadline) fails each of its writes: the next probe
 * of each cluster computes its status again and writes it.
 */
export class StatusWriter {
  private pending = new Map<string, Pending>();
  /** Batches sent (or waiting for a registry-call slot) and not yet answered. */
  private readonly sent = new Set<Map<string, Pending>>();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly sink: StatusSink,
    private readonly options: StatusWriterOptions,
  ) {}

  write(name: string, status: ClusterStatus): Promise<Cluster> {
    if (this.stopped) return Promise.reject(stoppedError());
    return new Promise((resolve, reject) => {
      const entry = this.pending.get(name);
      if (entry) {
        entry.status = status;
        entry.waiters.push({ resolve, reject });
        return;
      }
      this.pending.set(name, { status, waiters: [{ resolve, reject }] });
      if (this.pending.size >= this.options.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.windowMs);
    });
  }

  /** Writes waiting for a batch, and writes sent and not yet answered (metrics). */
  get queued(): number {
    let sent = 0;
    for (const batch of this.sent) sent += batch.size;
    return this.pending.size + sent;
  }

  /** Sends what is pending now (the timer calls it; tests call it directly). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.pending.size > 0) {
      const batch = new Map<string, Pending>();
      for (const [name, entry] of this.pending) {
        if (batch.size >= this.options.maxBatch) break;
        batch.set(name, entry);
      }
      for (const name of batch.keys()) this.pending.delete(name);
      void this.send(batch);
    }
  }

  /**
   * Stops at shutdown: the writes not yet sent are dropped, and the writes sent and not yet
   * answered are given up (the registry may still store them), all failed with ServiceUnavailable.
   * A cold start can leave thousands, and waiting for them (a batch under load takes seconds, a
   * registry that is down takes the 10 s deadline) outlasted SHUTDOWN_TIMEOUT_MS; the next owner's
   * first probe writes the same status.
   */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const dropped = [...this.pending.values(), ...[...this.sent].flatMap((batch) => [...batch.values()])];
    this.pending.clear();
    this.sent.clear();
    for (const entry of dropped) for (const w of entry.waiters) w.reject(stoppedError());
  }

  private async send(batch: Map<string, Pending>): Promise<void> {
    const run = this.options.limit ?? (<T>(fn: () => Promise<T>) => fn());
    this.sent.add(batch);
    let results: StatusWriteResult[];
    try {
      results = await run(() => {
        // Stopped while this batch waited for a registry-call slot: not sent (see stop).
        if (this.stopped) return Promise.reject(stoppedError());
        return this.sink.writeMany([...batch].map(([name, { status }]) => ({ name, status })));
      });
    } catch (error) {
      for (const entry of batch.values()) for (const w of entry.waiters) w.reject(error);
      return;
    } finally {
      this.sent.delete(batch);
    }
    const byName = new Map(results.map((r) => [r.name, r]));
    for (const [name, entry] of batch) {
      const r = byName.get(name);
      for (const w of entry.waiters) {
        if (!r) w.reject(new FlotillaError(ErrorReason.InternalError, `the registry did not answer the status write of ${name}`));
        else if ('error' in r) w.reject(r.error);
        else w.resolve(r.cluster);
      }
    }
  }
}

const stoppedError = () => new FlotillaError(ErrorReason.ServiceUnavailable, 'health-probe is shutting down: status not written');
