import { Client } from 'pg';
import type { Logger } from '@flotilla/observability';

/** The channels registry writers notify at commit (pg_notify in the same transaction). */
export const NotifyChannel = {
  /** A committed cluster change (payload: its resourceVersion). */
  clusterChanges: 'flotilla_cluster_changes',
  /** A new outbox job. */
  jobOutbox: 'flotilla_job_outbox',
  /** An import job written (payload: the cluster name). */
  importJobs: 'flotilla_import_jobs',
  /** A committed object change (generic object store). */
  objectChanges: 'flotilla_object_changes',
  /** A recorded cluster event (payload: its sequence). */
  clusterEvents: 'flotilla_cluster_events',
} as const;
export type NotifyChannel = (typeof NotifyChannel)[keyof typeof NotifyChannel];

type Handler = (payload: string | undefined) => void;

const RECONNECT_MS = 1000;

/**
 * The registry replica's one dedicated Postgres connection for LISTEN/NOTIFY: every channel a
 * module subscribes to (`on`) shares it. Reconnects by itself; after every (re)connect each
 * handler is called once with no payload, so it re-reads what it may have missed (callers also
 * re-read on a timer: a notification lost in a reconnect only delays delivery).
 */
export class ChangeListener {
  private client?: Client;
  private closed = false;
  private readonly handlers = new Map<string, Set<Handler>>();

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
  ) {}

  /** Subscribes to a channel (LISTENs at once when connected); returns the unsubscribe. */
  on(channel: NotifyChannel, handler: Handler): () => void {
    let set = this.handlers.get(channel);
    if (!set) {
      this.handlers.set(channel, (set = new Set()));
      const client = this.client;
      // A failed LISTEN loses the connection: the reconnect LISTENs every channel again.
      if (client) client.query(`LISTEN ${channel}`).then(() => handler(undefined), () => undefined);
    }
    set.add(handler);
    return () => void set.delete(handler);
  }

  async start(): Promise<void> {
    const client = new Client({ connectionString: this.url, application_name: 'flotilla-registry-listener' });
    client.on('notification', (msg) => {
      for (const h of this.handlers.get(msg.channel) ?? []) h(msg.payload || undefined);
    });
    client.on('error', (error) => {
      this.logger.warn({ err: error.message }, 'change listener connection lost; reconnecting');
      this.reconnectLater(client);
    });
    client.on('end', () => this.reconnectLater(client));
    await client.connect();
    for (const channel of this.handlers.keys()) await client.query(`LISTEN ${channel}`);
    this.client = client;
    // Anything committed while not listening is picked up by the handlers' own catch-up.
    for (const set of this.handlers.values()) for (const h of set) h(undefined);
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
