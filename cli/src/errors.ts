/**
 * Exit codes and the one error type the commands throw. main() prints an error's message (never
 * a stack trace) and exits with its code; docs/cli.md lists the codes.
 */
export const ExitCode = {
  Ok: 0,
  /** Bad flags or arguments (commander's own errors too). */
  Usage: 1,
  /** Refused or invalid: the server refused the request (400, 401, 403, 409, 422, 429...), or local input is unusable. */
  Refused: 2,
  /** Not found: no such cluster, or a file you named does not exist. */
  NotFound: 3,
  /** The server could not be reached or trusted, answered 503/504, or an operation timed out. */
  Unreachable: 4,
  /** An import, rotation or removal ran and failed (the reason and the fix are printed). */
  Failed: 5,
  /** The server answered 500 (a bug there), or an unexpected error in the CLI. */
  Internal: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A Kubernetes Status, as Flotilla answers every error. */
export interface KubeStatus {
  kind: 'Status';
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[]; retryAfterSeconds?: number; [k: string]: unknown };
}

export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** Lines printed after the message (causes, the fix). */
    readonly hints: string[] = [],
    /** The Status the server answered, when there was one. */
    readonly status?: KubeStatus,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function isStatus(value: unknown): value is KubeStatus {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'Status';
}

/** The exit code an HTTP error status maps to. */
export function exitCodeForHttp(code: number): ExitCode {
  if (code === 404) return ExitCode.NotFound;
  if (code === 502 || code === 503 || code === 504) return ExitCode.Unreachable;
  if (code >= 500) return ExitCode.Internal;
  return ExitCode.Refused;
}

/**
 * The lines that explain a Status: its causes (field: message) that the message does not already
 * say, and when to retry. Flotilla's messages name the field and end with the fix.
 */
export function statusHints(status: KubeStatus): string[] {
  const message = status.message ?? '';
  const hints: string[] = [];
  for (const cause of status.details?.causes ?? []) {
    const text = [cause.field, cause.message].filter(Boolean).join(': ');
    if (text && !message.includes(cause.message ?? text)) hints.push(text);
  }
  const fix = status.details?.fix;
  if (typeof fix === 'string' && !message.includes(fix)) hints.push(`fix: ${fix}`);
  if (status.details?.retryAfterSeconds) hints.push(`retry in ${status.details.retryAfterSeconds} s`);
  return hints;
}

/** A CliError from a Status the server answered with (HTTP code `code`). */
export function statusError(status: KubeStatus, code: number): CliError {
  const reason = status.reason ? ` (${status.reason})` : '';
  const message = `Error from server${reason}: ${status.message ?? `HTTP ${code}`}`;
  const hints = statusHints(status);
  if (code === 401) hints.push('your token was refused: log in again with `flotilla login --server URL --token TOKEN`');
  return new CliError(exitCodeForHttp(code), message, hints, status);
}
