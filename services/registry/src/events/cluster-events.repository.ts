import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ClusterEvent } from '@flotilla/domain';
import { Transaction, transactionManager } from '@flotilla/persistence';
import { REGISTRY_DATA_SOURCE } from '../infrastructure/tokens';

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
  resourceVersion: String(r.resource_version),
});

/** The only code that touches the cluster_events table. */
@Injectable()
export class ClusterEventsRepository {
  constructor(@Inject(REGISTRY_DATA_SOURCE) private readonly db: DataSource) {}

  /** Stores the event once (by name): a second event of the same name is ignored. */
  async insert(tx: Transaction, e: ClusterEvent): Promise<void> {
    await transactionManager(tx).query(
      `INSERT INTO cluster_events (name, cluster_name, cluster_uid, type, reason, message, condition_type, from_status, to_status, event_time, reporting_component, resource_version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, nextval('flotilla_resource_version'))
       ON CONFLICT (name) DO NOTHING`,
      [e.name, e.clusterName, e.clusterUid, e.type, e.reason, e.message, e.conditionType, e.fromStatus, e.toStatus, e.eventTime, e.reportingComponent],
    );
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

  async listForCluster(clusterName: string, limit: number): Promise<ClusterEvent[]> {
    const rows = (await this.db.query(`SELECT * FROM cluster_events WHERE cluster_name = $1 ORDER BY id DESC LIMIT $2`, [clusterName, limit])) as Row[];
    return rows.map(toEvent);
  }
}
