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
