import { Option } from 'commander';
import { readLogin } from './config';
import { CliError, ExitCode } from './errors';
import { Api } from './http';
import { freshLogin } from './oidc/refresh';
import { render, type Format, type Io } from './output';

/** What every command gets: where to write, and the environment (XDG_CONFIG_HOME, NO_COLOR). */
export interface Ctx {
  io: Io;
  env: NodeJS.ProcessEnv;
}

/** The API with the stored login (exit 2 with the fix when there is none); an OIDC login is refreshed when due. */
export function apiFor(ctx: Ctx, timeoutMs?: number): Api {
  const login = readLogin(ctx.env);
  return new Api(login, timeoutMs, login.oidc ? () => freshLogin(ctx.env, login) : undefined);
}

/** -o json|yaml, the machine-readable output every command offers. */
export const outputOption = (extra: string[] = []) =>
  new Option('-o, --output <format>', `print the result as ${[...extra, 'json', 'yaml'].join(', ')} (for scripts)`).choices([...extra, 'json', 'yaml']);

/** --timeout, for commands that wait. */
export const timeoutOption = (fallback: string) => new Option('--timeout <duration>', 'how long to wait (90s, 5m, 1h)').default(fallback);

/** Prints the value in the asked format; returns false when none was asked (the caller prints text). */
export function printAs(ctx: Ctx, format: string | undefined, value: unknown): boolean {
  if (format !== 'json' && format !== 'yaml') return false;
  ctx.io.out(render(value, format as Format));
  return true;
}

/** Splits `--labels a=b,c=d` into a map, naming the bad entry. */
export function parseLabels(value: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!value) return labels;
  for (const part of value.split(',')) {
    const entry = part.trim();
    if (entry === '') continue;
    const at = entry.indexOf('=');
    if (at <= 0) throw new CliError(ExitCode.Usage, `--labels: "${entry}" is not key=value`, ['write them as --labels env=prod,team=payments']);
    labels[entry.slice(0, at).trim()] = entry.slice(at + 1).trim();
  }
  return labels;
}
