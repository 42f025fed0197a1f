import { stringify } from 'yaml';

export type Format = 'json' | 'yaml';

/** Where the CLI writes: results on stdout, progress and errors on stderr. Tests and main() share it. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stderr is a terminal (progress bars). */
  errTty: boolean;
  /** Colours on stdout. */
  color: boolean;
  /** Colours on stderr. */
  errColor: boolean;
}

/** Colours only on a terminal; NO_COLOR (any value) turns them off, FORCE_COLOR (not 0) on. */
export function useColor(tty: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return tty && env.TERM !== 'dumb';
}

export function processIo(): Io {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    errTty: process.stderr.isTTY === true,
    color: useColor(process.stdout.isTTY === true),
    errColor: useColor(process.stderr.isTTY === true),
  };
}

const CODES = { green: 32, red: 31, yellow: 33, bold: 1, dim: 2 } as const;
export type Colour = keyof typeof CODES;

export const paint = (on: boolean, colour: Colour, text: string) => (on ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text);

/** A value as JSON or YAML text (ending with a newline). */
export function render(value: unknown, format: Format): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}

/** Columns padded to their widest cell (colour codes do not count), kubectl-style: three spaces apart. */
export function table(header: string[], rows: { cells: string[]; colours?: (Colour | undefined)[] }[], color: boolean): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r.cells[i] ?? '').length)));
  const line = (cells: string[], colours: (Colour | undefined)[] = []) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i]!);
        const colour = colours[i];
        return colour ? paint(color, colour, padded) : padded;
      })
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map((r) => line(r.cells, r.colours))].join('\n') + '\n';
}

/** kubectl's age: 45s, 12m, 3h, 5d (2d3h under 3 days is kept short as 2d). */
export function age(since: string | undefined, now = Date.now()): string {
  if (!since) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
  if (!Number.isFinite(seconds)) return '<unknown>';
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}
