import { Client } from 'pg';
import type { Logger } from '@flotilla/observability';

const CHANNELS = { changes: 'flotilla_cluster_changes', outbox: 'flotilla_job_outbox' } as const;
const RECONNECT_MS = 1000;

/**
 * One dedicated Postgres connection that LISTENs for committed cluster changes and new
 * outbox jobs, from any registry replica. Reconnects by itself; callers also poll, so a
 * notification lost during a reconnect only delays delivery.
 */
export class ChangeListener {
  private client?: Client;
  private closed = false;
  private readonly changeHandlers: (() => void)[] = [];
  private readonly outboxHandlers: (() => void)[] = [];

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
  ) {}

  onChange(handler: () => void): void {
    this.changeHandlers.push(handler);
  }

  onOutbox(handler: () => void): void {
    this.outboxHandlers.push(handler);
  }

  async start(): Promise<void> {
    const client = new Client({ connectionString: this.url, application_name: 'flotilla-registry-listener' });
    client.on('notification', (msg) => {
      const handlers = msg.channel === CHANNELS.changes ? this.changeHandlers : this.outboxHandlers;
      for (const h of handlers) h();
    });
    client.on('error', (error) => {
      this.logger.warn({ err: error.message }, 'change listener connection lost; reconnecting');
      this.reconnectLater(client);
    });
    client.on('end', () => this.reconnectLater(client));
    await client.connect();
    await client.query(`LISTEN ${CHANNELS.changes}`);
    await client.query(`LISTEN ${CHANNELS.outbox}`);
    this.client = client;
    // Anything committed while not listening is picked up by the handlers' own catch-up.
    for (const h of [...this.changeHandlers, ...this.outboxHandlers]) h();
  }

  private reconnectLater(client: Client): void {
    if (this.closed || this.client !== client) return;
    this.client = undefined;
    setTimeout(() => {
      if (this.closed) return;
      this.start().catch((error: unknown) => {
        this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'change listener reconnect failed');
        const dummy = new Client();
        this.client = dummy;
        this.reconnectLater(dummy);
      });
    }, RECONNECT_MS).unref();
  }

  get connected(): boolean {
    return this.client !== undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
