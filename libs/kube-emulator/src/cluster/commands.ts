/**
 * The commands an emulated container can run for `kubectl exec`: a small fixed set, enough to
 * prove the streaming protocols end to end (stdin, stdout, stderr, exit codes) without running
 * anything on the host. Nothing here spawns a process.
 *
 *   echo [-n] ARGS      ARGS joined by spaces, then a newline (not with -n)
 *   cat                 stdin to stdout until stdin ends
 *   exit N              exit code N (0-255)
 *   sh -c SCRIPT        SCRIPT as commands separated by `;`, `&&` or newlines; `sh` alone reads
 *                       its script from stdin, line by line
 *   env                 the container's environment, one NAME=value a line
 *   true / false        exit 0 / 1
 *   sleep N             waits N seconds (ends early when the client leaves)
 *   anything else       exits 127, with the container runtime's message on stderr
 */

/** Bytes a client sends to a command, read in order; `null` is the end of input. */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private ended = false;
  private waiter?: (b: Buffer | null) => void;

  push(b: Buffer): void {
    if (this.ended || b.length === 0) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(b);
    } else this.chunks.push(b);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.waiter && this.chunks.length === 0) {
      const w = this.waiter;
      this.waiter = undefined;
      w(null);
    }
  }

  read(): Promise<Buffer | null> {
    const next = this.chunks.shift();
    if (next) return Promise.resolve(next);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => (this.waiter = resolve));
  }
}

export interface CommandIO {
  /** Absent when the client asked for no stdin (then commands read an empty input). */
  stdin?: ByteQueue;
  stdout(b: Buffer | string): void;
  stderr(b: Buffer | string): void;
  env: Record<string, string>;
  /** Aborted when the client leaves or the pod goes away. */
  signal: AbortSignal;
}

/** Reads a queue to its end, or until the signal fires (then `null`). */
function readOrAbort(q: ByteQueue, signal: AbortSignal): Promise<Buffer | null> {
  if (signal.aborted) return Promise.resolve(null);
  return new Promise((resolve) => {
    const onAbort = (): void => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
    void q.read().then((b) => {
      signal.removeEventListener('abort', onAbort);
      resolve(b);
    });
  });
}

/** Splits a shell line into words: single and double quotes, backslash escapes, nothing else. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: '"' | "'" | undefined;
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** Runs `argv` and resolves with its exit code. */
export async function runCommand(argv: string[], io: CommandIO): Promise<number> {
  const [cmd = '', ...args] = argv;
  const name = cmd.split('/').pop() ?? cmd;
  switch (name) {
    case 'echo': {
      const noNewline = args[0] === '-n';
      io.stdout(`${(noNewline ? args.slice(1) : args).join(' ')}${noNewline ? '' : '\n'}`);
      return 0;
    }
    case 'cat': {
      if (!io.stdin) return 0;
      for (let b = await readOrAbort(io.stdin, io.signal); b; b = await readOrAbort(io.stdin, io.signal)) io.stdout(b);
      return 0;
    }
    case 'exit': {
      const n = Number(args[0] ?? '0');
      return Number.isInteger(n) ? ((n % 256) + 256) % 256 : 2;
    }
    case 'true':
      return 0;
    case 'false':
      return 1;
    case 'env':
      io.stdout(Object.entries(io.env).map(([k, v]) => `${k}=${v}\n`).join(''));
      return 0;
    case 'sleep': {
      const ms = Math.min(Number(args[0] ?? '0') * 1000, 3_600_000);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Number.isFinite(ms) ? ms : 0);
        io.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      });
      return 0;
    }
    case 'sh':
    case 'bash':
      if (args[0] === '-c') return runScript(args[1] ?? '', io);
      return runStdinScript(io);
    default:
      io.stderr(`exec: "${cmd}": executable file not found in $PATH\n`);
      return 127;
  }
}

/** `;`, `&&` and newlines separate commands; `exit` ends the script with its code. */
async function runScript(script: string, io: CommandIO): Promise<number> {
  let code = 0;
  for (const part of script.split(/\n|;|(&&)/)) {
    if (part === undefined) continue;
    if (part === '&&') {
      if (code !== 0) return code;
      continue;
    }
    const words = shellWords(part);
    if (words.length === 0) continue;
    code = await runCommand(words, io);
    if (words[0] === 'exit' || io.signal.aborted) return code;
  }
  return code;
}

/** `sh` without `-c`: each line of stdin is a script, until `exit` or the end of stdin. */
async function runStdinScript(io: CommandIO): Promise<number> {
  if (!io.stdin) return 0;
  let pending = '';
  let code = 0;
  for (let b = await readOrAbort(io.stdin, io.signal); b; b = await readOrAbort(io.stdin, io.signal)) {
    pending += b.toString('utf8');
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      // the lines' own stdin is the script: commands that read it (cat) get nothing more
      code = await runScript(line, { ...io, stdin: undefined });
      if (shellWords(line)[0] === 'exit') return code;
    }
  }
  return pending.trim() ? runScript(pending, { ...io, stdin: undefined }) : code;
}
