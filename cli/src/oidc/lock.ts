import { closeSync, openSync, rmSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError, ExitCode } from '../errors';

/** A lock older than this was left by a process that died: it is taken over. */
const STALE_MS = 30_000;
const WAIT_MS = 20_000;

/**
 * Runs `work` holding an exclusive lock file (created with O_EXCL, mode 0600), so that two
 * `flotilla token` that kubectl starts at once do not both spend the same refresh token (a
 * provider that rotates refresh tokens revokes the whole login when one is used twice).
 */
export async function withLock<T>(path: string, work: () => Promise<T>): Promise<T> {
  const until = Date.now() + WAIT_MS;
  for (;;) {
    try {
      closeSync(openSync(path, 'wx', 0o600));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new CliError(ExitCode.Refused, `cannot create the lock ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, ['check that you may write its folder']);
      }
    }
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_MS) rmSync(path, { force: true });
    } catch {
      // removed meanwhile: try again
    }
    if (Date.now() > until) throw new CliError(ExitCode.Unreachable, `another flotilla is refreshing the login (${path} is held)`, [`retry; if none runs, remove ${path}`]);
    await sleep(100);
  }
  try {
    return await work();
  } finally {
    rmSync(path, { force: true });
  }
}
