import { createWriteStream, type WriteStream } from 'node:fs';
import type { AuditEvent } from '@flotilla/clients';
import type { Logger } from '@flotilla/observability';

/** A JSON-lines copy of the audit log, next to the registry's (for log shippers). */
export interface AuditSink {
  write(events: readonly AuditEvent[]): void;
  close(): Promise<void>;
}

const lines = (events: readonly AuditEvent[]) => events.map((e) => `${JSON.stringify(e)}\n`).join('');

class StdoutSink implements AuditSink {
  write(events: readonly AuditEvent[]): void {
    process.stdout.write(lines(events));
  }
  async close(): Promise<void> {}
}

/**
 * A file, opened once at start in append mode (mode 0600: the log names users and paths). The path
 * is the operator's configuration, never request input. A write error is logged once and the
 * registry copy carries on.
 */
class FileSink implements AuditSink {
  private readonly stream: WriteStream;
  private failed = false;

  constructor(path: string, logger: Logger) {
    this.stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
    this.stream.on('error', (error) => {
      if (!this.failed) logger.error({ err: error.message, sink: path }, 'audit sink: cannot write the file; events still go to the registry');
      this.failed = true;
    });
  }

  write(events: readonly AuditEvent[]): void {
    if (!this.failed) this.stream.write(lines(events));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }
}

/** FLOTILLA_AUDIT_SINK: `stdout`, a file path, or empty for none. */
export function openAuditSink(setting: string | undefined, logger: Logger): AuditSink | undefined {
  const value = setting?.trim();
  if (!value) return undefined;
  if (value === 'stdout') return new StdoutSink();
  return new FileSink(value, logger);
}
