import { FlotillaError } from '@flotilla/domain';

/** A per-caller limit as its refusal names it. */
export interface CallerLimit {
  /** What is counted, plural: "open watches". */
  what: string;
  /** The setting that sets the limit: "FLOTILLA_MAX_WATCHES_PER_CALLER". */
  setting: string;
  /** What the caller can do: "close one, or raise the limit". */
  fix: string;
  /** Sent as Retry-After (HTTP) and details.retryAfterSeconds; default 1, as kube-apiserver's. */
  retryAfterSeconds?: number;
}

/**
 * Open slots counted per caller (streams, watches): acquire() takes one or refuses past the limit
 * with the error the edge needs; the returned release gives it back once, however often it is
 * called. One counter for the gateway's per-user stream limit and the registry's per-caller watch
 * limit (issue 13), which differ only in how they refuse.
 */
export class CallerSlots {
  private readonly open = new Map<string, number>();

  constructor(
    readonly max: number,
    private readonly refusal: (caller: string, open: number, max: number) => Error,
  ) {}

  /**
   * The refusal every per-caller limit uses: TooManyRequests (HTTP 429, gRPC RESOURCE_EXHAUSTED)
   * in kube-apiserver's words, naming the caller, the limit and its setting, with a retry hint.
   */
  static tooManyRequests(limit: CallerLimit): (caller: string, open: number, max: number) => FlotillaError {
    return (caller, open, max) =>
      FlotillaError.tooManyRequests(`Too many ${limit.what}: ${caller} has ${open}, the most allowed (${limit.setting}=${max}); ${limit.fix}.`, limit.retryAfterSeconds ?? 1);
  }

  acquire(caller: string): () => void {
    const n = this.open.get(caller) ?? 0;
    if (n >= this.max) throw this.refusal(caller, n, this.max);
    this.open.set(caller, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(caller) ?? 1) - 1;
      if (left <= 0) this.open.delete(caller);
      else this.open.set(caller, left);
    };
  }

  count(caller: string): number {
    return this.open.get(caller) ?? 0;
  }
}
