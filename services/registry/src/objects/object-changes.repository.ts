import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Transaction, transactionManager } from '@flotilla/persistence';
import { NotifyChannel } from '../infrastructure/change-listener';
import { REGISTRY_DATA_SOURCE } from '../infrastructure/tokens';
import type { ObjectChangeType } from './object-change.entity';
import type { JsonObject, ObjectKey } from './object-rules';

export type { ObjectChangeType } from './object-change.entity';

export interface ObjectChangeRow {
  revision: string;
  type: ObjectChangeType;
  resource: string;
  namespace: string;
  name: string;
  object: JsonObject;
}

/**
 * Serialises object writers from the moment they take a revision until they commit, so revisions
 * become visible in order: a reader that saw revision N has seen every revision below it (the
 * change log is read by `since`, so a revision committed late would be skipped).
 */
const OBJECT_WRITE_LOCK_KEY = 0x6f626a73; // "objs"

/** The change log of the object store (object_changes) and the revision sequence both tables share. */
@Injectable()
export class ObjectChangesRepository {
  constructor(@Inject(REGISTRY_DATA_SOURCE) private readonly db: DataSource) {}

  /** Takes the writers' lock until the transaction ends (taking it again in the same transaction is a no-op). */
  async lockWriters(tx: Transaction): Promise<void> {
    await transactionManager(tx).query('SELECT pg_advisory_xact_lock($1)', [OBJECT_WRITE_LOCK_KEY]);
  }

  /** Takes the writers' lock and the next revision: call it after every check, so a refused write leaves no gap. */
  async nextRevision(tx: Transaction): Promise<string> {
    await this.lockWriters(tx);
    const [row] = (await transactionManager(tx).query(`SELECT nextval('flotilla_object_revision')::text AS rv`)) as { rv: string }[];
    return row!.rv;
  }

  async append(tx: Transaction, type: ObjectChangeType, key: ObjectKey, revision: string, object: JsonObject): Promise<void> {
    const em = transactionManager(tx);
    await em.query(`INSERT INTO object_changes (revision, type, resource, namespace, name, object) VALUES ($1::bigint, $2, $3, $4, $5, $6::jsonb)`, [
      revision,
      type,
      key.resource,
      key.namespace,
      key.name,
      JSON.stringify(object),
    ]);
    // Wakes the registries' change streams (ObjectChangeHub) at commit; the change log is the truth.
    await em.query('SELECT pg_notify($1, $2)', [NotifyChannel.objectChanges, revision]);
  }

  /** The newest committed revision ('0' before the first write). The log is never emptied: prune keeps the newest rows. */
  async currentRevision(tx: Transaction): Promise<string> {
    const [row] = (await transactionManager(tx).query(`SELECT COALESCE(max(revision), 0)::text AS rv FROM object_changes`)) as { rv: string }[];
    return row!.rv;
  }

  /** The oldest revision still in the log; undefined when the log is empty. */
  async oldestRevision(tx: Transaction): Promise<string | undefined> {
    const [row] = (await transactionManager(tx).query(`SELECT min(revision)::text AS rv FROM object_changes`)) as { rv: string | null }[];
    return row?.rv ?? undefined;
  }

  /** Changes with since < revision <= upTo, oldest first, of the given resources (all when empty). */
  async between(tx: Transaction, since: string, upTo: string, resources: string[], limit: number): Promise<ObjectChangeRow[]> {
    const filter = resources.length > 0 ? 'AND resource = ANY($4::text[])' : '';
    const params: unknown[] = [since, upTo, limit];
    if (resources.length > 0) params.push(resources);
    const rows = (await transactionManager(tx).query(
      `SELECT revision::text AS revision, type, resource, namespace, name, object FROM object_changes
        WHERE revision > $1::bigint AND revision <= $2::bigint ${filter} ORDER BY object_changes.revision LIMIT $3`,
      params,
    )) as ObjectChangeRow[];
    return rows;
  }

  /** Keeps the log bounded: drops changes older than the window, always keeping the newest `keepAtLeast`. */
  async prune(olderThanSeconds: number, keepAtLeast: number): Promise<number> {
    const result = (await this.db.query(
      `DELETE FROM object_changes WHERE created_at < now() - make_interval(secs => $1)
         AND revision < (SELECT COALESCE(min(revision), 0) FROM (SELECT revision FROM object_changes ORDER BY revision DESC LIMIT $2) newest)`,
      [olderThanSeconds, keepAtLeast],
    )) as [unknown, number];
    return result[1] ?? 0;
  }
}
