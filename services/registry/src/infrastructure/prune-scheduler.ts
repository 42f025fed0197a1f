import type { Logger } from '@flotilla/observability';

export const PRUNE_INTERVAL_MS = 60_000;

/**
 * Keeps the registry's tables and hashes bounded: each feature registers how it prunes its own
 * records, and one timer runs them all in turn. A failing task is logged and does not stop the others.
 */
export class PruneScheduler {
  private readonly tasks: { name: string; run: () => Promise<unknown> }[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = PRUNE_INTERVAL_MS,
  ) {}

  register(name: string, run: () => Promise<unknown>): void {
    this.tasks.push({ name, run });
  }

  start(): void {
    this.timer ??= setInterval(() => void this.runAll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One pass over every task, in registration order. */
  async runAll(): Promise<void> {
    for (const task of this.tasks) {
      try {
        await task.run();
      } catch (error) {
        this.logger.warn({ task: task.name, err: error instanceof Error ? error.message : String(error) }, 'pruning failed');
      }
    }
  }
}
