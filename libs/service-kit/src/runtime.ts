import { HealthState, Logger, Metrics, createLogger } from '@flotilla/observability';

/** Injection tokens shared by every service. */
export const RUNTIME = Symbol('flotilla.runtime');
export const CONFIG = Symbol('flotilla.config');

type Drain = { name: string; run: () => Promise<void> };

/**
 * Ordered graceful shutdown. Drains run first (stop taking work, finish in-flight work,
 * end streams) while databases are still open; closers run last.
 */
export class ShutdownCoordinator {
  private readonly drains: Drain[] = [];
  private readonly closers: Drain[] = [];

  onDrain(name: string, run: () => Promise<void>): void {
    this.drains.push({ name, run });
  }

  onClose(name: string, run: () => Promise<void>): void {
    this.closers.push({ name, run });
  }

  async drain(logger: Logger): Promise<void> {
    await Promise.all(this.drains.map((d) => this.runOne(d, logger)));
  }

  async close(logger: Logger): Promise<void> {
    for (const c of [...this.closers].reverse()) await this.runOne(c, logger);
  }

  private async runOne(step: Drain, logger: Logger): Promise<void> {
    try {
      await step.run();
    } catch (error) {
      logger.warn({ step: step.name, err: error instanceof Error ? error.message : String(error) }, 'shutdown step failed');
    }
  }
}

/** What every service process shares: its name, logger, metrics, health and shutdown order. */
export class ServiceRuntime {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health = new HealthState();
  readonly shutdown = new ShutdownCoordinator();

  constructor(
    readonly name: string,
    logLevel: string,
  ) {
    this.logger = createLogger(name, logLevel);
    this.metrics = new Metrics(name);
  }
}
