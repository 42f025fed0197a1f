import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { Cluster } from '@flotilla/domain';
import { Transaction, transactionManager } from '@flotilla/persistence';
import { NotifyChannel } from '../../infrastructure/change-listener';
import { REGISTRY_DATA_SOURCE } from '../../infrastructure/tokens';
import { ChangeType, ClusterChangeEntity } from './cluster-change.entity';

export type { ChangeType } from './cluster-change.entity';

/** One committed write of a cluster, as the change log holds it. */
export interface ClusterChange {
  resourceVersion: string;
  type: ChangeType;
  name: string;
  /** The cluster as the API showed it after the write (no credentials). */
  object: Cluster;
}

/** Serialises writers so resourceVersions are handed out in commit order (the watch relies on it). */
const WRITE_LOCK_KEY = 0x666c6f74; // "flot"

const toChange = (e: ClusterChangeEntity): ClusterChange => ({
  resourceVersion: String(e.resourceVersion),
  type: e.type,
  name: e.name,
  object: e.object as unknown as Cluster,
});

/** The change log (cluster_changes) and the resourceVersion sequence behind it. */
@Injectable()
export class ClusterChangesRepository {
  constructor(@Inject(REGISTRY_DATA_SOURCE) private readonly db: DataSource) {}

  /** Takes the writers' lock (until the transaction ends) and the next resourceVersion. */
  async nextResourceVersion(tx: Transaction): Promise<string> {
    const [resourceVersion] = await this.nextResourceVersions(tx, 1);
    return resourceVersion!;
  }

  /** Takes the writers' lock (until the transaction ends) and the next `count` resourceVersions, in order. */
  async nextResourceVersions(tx: Transaction, count: number): Promise<string[]> {
    const em = transactionManager(tx);
    await em.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK_KEY]);
    // Ordered as bigint in SQL, sent as text: never parsed into a JS number.
    const rows = (await em.query(
      `SELECT v.rv::text AS rv FROM (SELECT nextval('flotilla_resource_version') AS rv FROM generate_series(1, $1::int)) v ORDER BY v.rv`,
      [count],
    )) as { rv: string }[];
    return rows.map((r) => r.rv);
  }

  /** Appends writes of many clusters (each at its metadata.resourceVersion) in one statement, and wakes the watchers once at commit. */
  async appendMany(tx: Transaction, type: ChangeType, clusters: Cluster[]): Promise<void> {
    if (clusters.length === 0) return;
    const em = transactionManager(tx);
    const rows = clusters.map((c) => ({ rv: c.metadata.resourceVersion, uid: c.metadata.uid, name: c.metadata.name, object: c }));
    await em.query(
      `INSERT INTO cluster_changes (resource_version, type, cluster_uid, name, object)
         SELECT u.rv, $2, u.uid, u.name, u.object FROM jsonb_to_recordset($1::jsonb) AS u(rv bigint, uid uuid, name text, object jsonb)`,
      [JSON.stringify(rows), type],
    );
    await em.query('SELECT pg_notify($1, $2)', [NotifyChannel.clusterChanges, clusters[clusters.length - 1]!.metadata.resourceVersion]);
  }

  /** Appends a write of `cluster` (at its metadata.resourceVersion) and wakes the watchers of every replica at commit. */
  async append(tx: Transaction, type: ChangeType, cluster: Cluster): Promise<void> {
    await this.appendMany(tx, type, [cluster]);
  }

  async currentResourceVersion(): Promise<string> {
    const [row] = (await this.db.query(
      `SELECT COALESCE((SELECT max(resource_version) FROM cluster_changes), (SELECT last_value FROM flotilla_resource_version))::text AS rv`,
    )) as { rv: string }[];
    return row!.rv;
  }

  /** Changes after a resourceVersion, oldest first. */
  async changesAfter(resourceVersion: string, limit: number): Promise<ClusterChange[]> {
    const rows = await this.db
      .getRepository(ClusterChangeEntity)
      .createQueryBuilder('ch')
      .where('ch.resource_version > :rv::bigint', { rv: resourceVersion })
      .orderBy('ch.resource_version', 'ASC')
      .take(limit)
      .getMany();
    return rows.map(toChange);
  }

  /** The oldest resourceVersion a watch can still resume after (older ones were pruned). */
  async oldestResumableVersion(): Promise<string | undefined> {
    const [row] = (await this.db.query(`SELECT (min(resource_version) - 1)::text AS rv FROM cluster_changes`)) as { rv: string | null }[];
    return row?.rv ?? undefined;
  }

  /** Keeps the change log bounded: drops changes older than the window, keeping the newest. */
  async prune(olderThanSeconds: number, keepAtLeast: number): Promise<number> {
    const result = (await this.db.query(
      `DELETE FROM cluster_changes WHERE created_at < now() - make_interval(secs => $1)
         AND resource_version < (SELECT COALESCE(min(resource_version), 0) FROM (SELECT resource_version FROM cluster_changes ORDER BY resource_version DESC LIMIT $2) newest)`,
      [olderThanSeconds, keepAtLeast],
    )) as [unknown, number];
    return result[1] ?? 0;
  }
}
