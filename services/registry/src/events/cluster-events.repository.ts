import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ClusterEvent } from '@flotilla/domain';
import { Transaction, transactionManager } from '@flotilla/persistence';
import { NotifyChannel } from '../infrastructure/change-listener';
import { REGISTRY_DATA_SOURCE } from '../infrastructure/tokens';

/**
 * Serialises event writers from the moment they take a sequence number (the row's id) until they
 * commit, so sequences become visible in order: a reader that saw event N has seen every event
 * below it (watches read by `id > position`, so an event committed late would be skipped).
 * Readers of the head take it shared: no writer is between its nextval and its commit then.
 */
const EVENT_WRITE_LOCK_KEY = 0x63657673; // "cevs"

interface Row {
  name: string;
  cluster_name: string;
  cluster_uid: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  condition_type: string;
  from_status: string;
  to_status: string;
  event_time: Date;
  reporting_component: string;
  resource_version: string;
  id: string;
}

const toEvent = (r: Row): ClusterEvent => ({
  name: r.name,
  clusterName: r.cluster_name,
  clusterUid: r.cluster_uid,
  type: r.type,
  reason: r.reason,
  message: r.message,
  conditionType: r.condition_type,
  fromStatus: r.from_status,
  toStatus: r.to_status,
  eventTime: r.event_time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  reportingComponent: r.reporting_component,
  // The event's sequence: what a watch resumes after (opaque to every caller).
  resourceVersion: String(r.id),
});

/** The only code that touches the cluster_events table. */
@Injectable()
export class ClusterEventsRepository {
  constructor(@Inject(REGISTRY_DATA_SOURCE) private readonly db: DataSource) {}

  /**
   * Stores the event once (by name): a second event of the same name is ignored. Takes the
   * writers' lock first (until commit), and wakes the registries' event watches at commit.
   */
  async insert(tx: Transaction, e: ClusterEvent): Promise<void> {
    const em = transactionManager(tx);
    await em.query('SELECT pg_advisory_xact_lock($1)', [EVENT_WRITE_LOCK_KEY]);
    const inserted = (await em.query(
      `INSERT INTO cluster_events (name, cluster_name, cluster_uid, type, reason, message, condition_type, from_status, to_status, event_time, reporting_component, resource_version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, nextval('flotilla_resource_version'))
       ON CONFLICT (name) DO NOTHING RETURNING id::text AS id`,
      [e.name, e.clusterName, e.clusterUid, e.type, e.reason, e.message, e.conditionType, e.fromStatus, e.toStatus, e.eventTime, e.reportingComponent],
    )) as { id: string }[];
    if (inserted[0]) await em.query('SELECT pg_notify($1, $2)', [NotifyChannel.clusterEvents, inserted[0].id]);
  }

  /**
   * The newest sequence handed out with every event up to it committed (or rolled back): read
   * under the writers' lock, shared. '0' before the first event.
   */
  async head(tx: Transaction): Promise<string> {
    const em = transactionManager(tx);
    await em.query('SELECT pg_advisory_xact_lock_shared($1)', [EVENT_WRITE_LOCK_KEY]);
    const [row] = (await em.query(`SELECT last_value::text AS last, is_called FROM cluster_events_id_seq`)) as { last: string; is_called: boolean }[];
    return row && row.is_called ? row.last : '0';
  }

  /** The oldest sequence still stored; undefined when nothing is. */
  async oldest(tx: Transaction): Promise<string | undefined> {
    const [row] = (await transactionManager(tx).query(`SELECT min(id)::text AS id FROM cluster_events`)) as { id: string | null }[];
    return row?.id ?? undefined;
  }

  /** Events with a sequence after `after`, oldest first (any cluster), at most `limit`. */
  async after(after: string, limit: number): Promise<ClusterEvent[]> {
    const rows = (await this.db.query(`SELECT * FROM cluster_events WHERE id > $1::bigint ORDER BY id LIMIT $2`, [after, limit])) as Row[];
    return rows.map(toEvent);
  }

  /** Drops a cluster's oldest events beyond the newest `keep`. */
  async pruneCluster(tx: Transaction, clusterName: string, keep: number): Promise<void> {
    await transactionManager(tx).query(
      `DELETE FROM cluster_events WHERE cluster_name = $1 AND id < (
         SELECT min(id) FROM (SELECT id FROM cluster_events WHERE cluster_name = $1 ORDER BY id DESC LIMIT $2) newest)`,
      [clusterName, keep],
    );
  }

  /** Drops a batch of events older than the retention age, of any cluster. */
  async pruneExpired(tx: Transaction, retentionDays: number, batch: number): Promise<void> {
    await transactionManager(tx).query(
      `DELETE FROM cluster_events WHERE id IN (SELECT id FROM cluster_events WHERE event_time < now() - make_interval(days => $1) LIMIT $2)`,
      [retentionDays, batch],
    );
  }

  async findByName(tx: Transaction, name: string): Promise<ClusterEvent | undefined> {
    const rows = (await transactionManager(tx).query(`SELECT * FROM cluster_events WHERE name = $1`, [name])) as Row[];
    return rows[0] ? toEvent(rows[0]) : undefined;
  }

  async listForCluster(tx: Transaction, clusterName: string, limit: number): Promise<ClusterEvent[]> {
    const rows = (await transactionManager(tx).query(`SELECT * FROM cluster_events WHERE cluster_name = $1 ORDER BY id DESC LIMIT $2`, [clusterName, limit])) as Row[];
    return rows.map(toEvent);
  }
}
