import type { MemberCredentials } from './registry-port';

/** What the loader asks of the registry: many clusters' credentials in one call. */
export interface CredentialSource {
  /** Credentials per name; a name absent from the map is not a stored cluster (or its credentials cannot be opened: `error`). */
  batch(names: string[]): Promise<Map<string, MemberCredentials | { error: string }>>;
}

export interface CredentialLoaderOptions {
  /** Names per registry call. */
  maxBatch: number;
  /** How long a request waits for others to join its batch. */
  windowMs: number;
  /** Credentials loaded ahead and not taken within this are dropped (they are secrets: kept no longer than needed). */
  keepMs: number;
  now?(): number;
  /** Runs one registry call (the replica's registry-call limiter). */
  limit?<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Batches sent and not yet answered, at most (default: no bound). At a 10,000-cluster cold start
   * all 20 batches went at once: about 60 MiB of credentials that the registry encoded and the
   * replica read side by side, so the first answer came as late as the last, and some passed the
   * 10 s deadline (1,350 clusters failed their first probe). A few at a time, the first clusters are
   * probed within a second and every batch is answered in time.
   */
  maxInFlight?: number;
}

interface Waiter {
  resolve(c: MemberCredentials): void;
  reject(e: unknown): void;
}

/** Why a cluster's credentials could not be had (a name the registry does not know, or an unopenable ciphertext). */
export class CredentialsUnavailableError extends Error {
  constructor(name: string, why: string) {
    super(`credentials of ${name}: ${why}`);
    this.name = 'CredentialsUnavailableError';
  }
}

/**
 * Credentials for probers, read from the registry in batches. A replica that starts with (or takes
 * over) 10,000 clusters used to make 10,000 GetClusterCredentials calls, each two queries and a
 * decryption in the registry, queued 16 at a time behind the status writes: that was most of its
 * cold start (docs/health.md, "Cold start"). Now the scheduler announces every cluster it takes
 * (`prefetch`), the loader asks for them hundreds at a time (BatchGetClusterCredentials: one
 * query, decrypted in one pass), and a prober built later takes its credentials from memory.
 * Requests that arrive one by one (a new cluster, credentials refused after a rotation) wait
 * `windowMs` for company and go in one call too.
 *
 * Each loaded credential is handed out once: a prober that needs them again (401/403, a new
 * generation) reads them afresh, so a rotation is picked up.
 */
export class CredentialLoader {
  private readonly pending = new Map<string, Waiter[]>();
  /** Names whose batch is on its way: a late request joins it instead of reading again. */
  private readonly inFlight = new Map<string, Waiter[]>();
  private readonly loaded = new Map<string, { credentials: MemberCredentials; at: number }>();
  private timer?: NodeJS.Timeout;
  private batchesInFlight = 0;
  private readonly now: () => number;
  private stopped = false;

  constructor(
    private readonly source: CredentialSource,
    private readonly options: CredentialLoaderOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The credentials of one cluster: loaded ahead, or read in the next batch. */
  load(name: string): Promise<MemberCredentials> {
    const ready = this.loaded.get(name);
    if (ready) {
      this.loaded.delete(name);
      if (this.now() - ready.at <= this.options.keepMs) return Promise.resolve(ready.credentials);
    }
    return new Promise((resolve, reject) => {
      const joining = this.inFlight.get(name);
      if (joining) joining.push({ resolve, reject });
      else this.enqueue(name, { resolve, reject });
    });
  }

  /** Reads these clusters' credentials ahead, in batches, for probers built soon. */
  prefetch(names: Iterable<string>): void {
    for (const name of names) if (!this.loaded.has(name) && !this.inFlight.has(name)) this.enqueue(name);
  }

  /** Drops what is held for a cluster (it is no longer ours, or it changed). */
  forget(name: string): void {
    this.loaded.delete(name);
  }

  /** Credentials held and not yet taken (metrics, tests). */
  get held(): number {
    return this.loaded.size;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.loaded.clear();
    const waiting = [...this.pending.values(), ...this.inFlight.values()].flat();
    this.pending.clear();
    this.inFlight.clear();
    for (const w of waiting) w.reject(new Error('credential loader stopped'));
  }

  /** Sends what is pending now (the timer calls it; tests call it directly). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.pending.size > 0 && this.batchesInFlight < (this.options.maxInFlight ?? Infinity)) {
      const names = [...this.pending.keys()].slice(0, this.options.maxBatch);
      for (const n of names) {
        this.inFlight.set(n, this.pending.get(n)!);
        this.pending.delete(n);
      }
      void this.send(names);
    }
  }

  private enqueue(name: string, waiter?: Waiter): void {
    if (this.stopped) {
      waiter?.reject(new Error('credential loader stopped'));
      return;
    }
    const list = this.pending.get(name) ?? [];
    if (waiter) list.push(waiter);
    this.pending.set(name, list);
    if (this.pending.size >= this.options.maxBatch) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.windowMs);
  }

  private async send(names: string[]): Promise<void> {
    const run = this.options.limit ?? (<T>(fn: () => Promise<T>) => fn());
    let answer: Map<string, MemberCredentials | { error: string }>;
    this.batchesInFlight++;
    try {
      answer = await run(() => this.source.batch(names));
    } catch (error) {
      // The batch failed as a whole (registry down, deadline): every waiter fails its probe now and
      // asks again at its next one; nothing is held for the prefetched names.
      for (const name of names) {
        for (const w of this.inFlight.get(name) ?? []) w.reject(error);
        this.inFlight.delete(name);
      }
      return;
    } finally {
      this.batchesInFlight--;
      // What waited for a free batch goes now (a lone request still waits windowMs for company).
      if (this.pending.size >= this.options.maxBatch || (this.pending.size > 0 && !this.timer)) this.flush();
    }
    const at = this.now();
    this.sweep(at);
    for (const name of names) {
      const c = answer.get(name);
      const list = this.inFlight.get(name) ?? [];
      this.inFlight.delete(name);
      if (!c || 'error' in c) {
        const why = !c ? 'not a stored cluster' : c.error;
        for (const w of list) w.reject(new CredentialsUnavailableError(name, why));
        continue;
      }
      if (list.length === 0) {
        if (!this.stopped) this.loaded.set(name, { credentials: c, at });
        continue;
      }
      for (const w of list) w.resolve(c);
    }
  }

  /** Drops credentials loaded ahead and never taken within keepMs. */
  private sweep(now: number): void {
    for (const [name, { at }] of this.loaded) {
      if (now - at <= this.options.keepMs) break; // insertion order is load order
      this.loaded.delete(name);
    }
  }
}
