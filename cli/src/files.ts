import { closeSync, fstatSync, openSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { CliError, ExitCode } from './errors';

/** The kubeconfig Flotilla accepts is at most 1 MiB (docs/api.md). */
export const MAX_KUBECONFIG_BYTES = 1024 * 1024;

/**
 * Reads a file the user named, refusing a missing, unreadable, non-regular or too large one with
 * a clear error. Reads at most maxBytes + 1 bytes whatever the file claims to hold.
 */
export function readUserFile(path: string, what: string, maxBytes: number): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(ExitCode.NotFound, `${what} ${path} does not exist`, ['check the path you gave']);
    if (code === 'EACCES') throw new CliError(ExitCode.Refused, `${what} ${path} cannot be read: permission denied`);
    if (code === 'EISDIR') throw new CliError(ExitCode.Refused, `${what} ${path} is a directory: name a file`);
    throw new CliError(ExitCode.Refused, `${what} ${path} cannot be read (${code ?? 'error'})`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new CliError(ExitCode.Refused, `${what} ${path} is not a regular file: name a file`);
    if (stat.size > maxBytes) throw tooBig(what, path, maxBytes);
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > maxBytes) throw tooBig(what, path, maxBytes);
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function tooBig(what: string, path: string, maxBytes: number): CliError {
  return new CliError(ExitCode.Refused, `${what} ${path} is larger than ${Math.round(maxBytes / 1024)} KiB`, ['name the right file; a kubeconfig for one cluster is a few KiB']);
}

/** Writes a file readable by its owner only, atomically (a temporary file in the same folder, then a rename). */
export function writePrivateFile(path: string, content: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, content, { mode: 0o600, flag: 'w' });
    renameSync(tmp, path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(ExitCode.Refused, `cannot write ${path} (${code ?? 'error'})`, ['check that its folder exists and that you may write there']);
  }
}
