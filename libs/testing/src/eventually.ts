/**
 * Retries an assertion until it passes or the time is up, then throws its last error.
 * Use instead of sleeps: a test waits exactly as long as the system needs.
 */
export async function eventually<T>(assertion: () => T | Promise<T>, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const until = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= until) throw lastError;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
