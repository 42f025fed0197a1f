/**
 * A background pass that runs at most once at a time: `kick()` starts it now, or, while a pass is
 * in progress, once more right after it (kicks in the meantime coalesce into that one pass).
 * `stop()` refuses further passes and resolves when the pass in progress has ended.
 */
export class CoalescingTask {
  private current?: Promise<void>;
  private again = false;
  private stoppedFlag = false;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** True once stop() was called: a long pass checks it between its batches. */
  get stopped(): boolean {
    return this.stoppedFlag;
  }

  kick(): void {
    if (this.stoppedFlag) return;
    if (this.current) {
      this.again = true;
      return;
    }
    this.current = this.pass()
      .catch((error: unknown) => this.onError(error))
      .finally(() => {
        this.current = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  async stop(): Promise<void> {
    this.stoppedFlag = true;
    this.again = false;
    while (this.current) await this.current;
  }
}
