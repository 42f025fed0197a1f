/** A readiness dependency: resolves when usable, throws (with a reason) when not. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export interface ReadinessReport {
  ready: boolean;
  checks: { name: string; ok: boolean; message?: string }[];
}

const CHECK_TIMEOUT_MS = 2000;

/** Tracks liveness, readiness checks and the shutting-down state of one process. */
export class HealthState {
  private readonly checks: ReadinessCheck[] = [];
  private shuttingDown = false;

  register(check: ReadinessCheck): void {
    if (this.checks.some((c) => c.name === check.name)) throw new Error(`readiness check "${check.name}" registered twice`);
    this.checks.push(check);
  }

  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  async readiness(): Promise<ReadinessReport> {
    const results = await Promise.all(
      this.checks.map(async (c) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            c.check(),
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
            }),
          ]);
          return { name: c.name, ok: true };
        } catch (error) {
          return { name: c.name, ok: false, message: error instanceof Error ? error.message : String(error) };
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    if (this.shuttingDown) results.push({ name: 'shutdown', ok: false, message: 'shutting down' });
    return { ready: results.every((r) => r.ok), checks: results };
  }
}
