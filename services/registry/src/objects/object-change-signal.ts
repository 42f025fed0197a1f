import { Client } from 'pg';
import type { Logger } from '@flotilla/observability';
import { OBJECT_CHANGES_CHANNEL } from './object-changes.repository';

const RECONNECT_MS = 1000;

/**
 * One dedicated Postgres connection that LISTENs on OBJECT_CHANGES_CHANNEL, which every object
 * write notifies at its commit (ObjectChangesRepository.append), from any registry replica.
 * The registry's ChangeListener (infrastructure/change-listener.ts) LISTENs on two fixed
 * channels only, so the object store has this one of its own, built the same way: it reconnects
 * by itself and wakes its handler after (re)connecting, and the handler also re-reads on a timer,
 * so a notification lost during a reconnect only delays a change.
 */
export class ObjectChangeSignal {
  private client?: Client;
  private closed = false;
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    private readonly onSignal: () => void,
  ) {}

  async start(): Promise<void> {
    if (this.closed) return;
    const client = new Client({ connectionString: this.url, application_name: 'flotilla-registry-object-changes' });
    client.on('notification', () => this.onSignal());
    client.on('error', (error) => {
      this.logger.warn({ err: error.message }, 'object change listener connection lost; reconnecting');
      this.reconnectLater(client);
    });
    client.on('end', () => this.reconnectLater(client));
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${OBJECT_CHANGES_CHANNEL}`);
    } catch (error) {
      this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'object change listener could not LISTEN; retrying (the periodic re-read goes on)');
      this.reconnectLater(client);
      return;
    }
    // Anything committed while not listening is read now.
    this.onSignal();
  }

  get connected(): boolean {
    return this.client !== undefined && this.retry === undefined;
  }

  private reconnectLater(client: Client): void {
    if (this.closed || this.client !== client || this.retry) return;
    client.end().catch(() => undefined);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.client = undefined;
      void this.start();
    }, RECONNECT_MS);
    this.retry.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
