import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Transaction, transactionManager } from '@flotilla/persistence';
import { REGISTRY_DATA_SOURCE } from '../infrastructure/tokens';
import type { JsonObject, ObjectKey } from './object-rules';

export interface ObjectRow {
  resource: string;
  namespace: string;
  name: string;
  resourceVersion: string;
  object: JsonObject;
}

interface Row {
  resource: string;
  namespace: string;
  name: string;
  resource_version: string;
  object: JsonObject;
}

const toRow = (r: Row): ObjectRow => ({ resource: r.resource, namespace: r.namespace, name: r.name, resourceVersion: String(r.resource_version), object: r.object });

const COLUMNS = 'resource, namespace, name, resource_version::text AS resource_version, object';

/** The objects table of the generic store: the only code that touches it. */
@Injectable()
export class ObjectsRepository {
  constructor(@Inject(REGISTRY_DATA_SOURCE) private readonly db: DataSource) {}

  async find(key: ObjectKey): Promise<ObjectRow | undefined> {
    const rows = (await this.db.query(`SELECT ${COLUMNS} FROM objects WHERE resource = $1 AND namespace = $2 AND name = $3`, [key.resource, key.namespace, key.name])) as Row[];
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  /** Reads an object and locks its row until the transaction ends (updates and deletes of it wait). */
  async findForUpdate(tx: Transaction, key: ObjectKey): Promise<ObjectRow | undefined> {
    const rows = (await transactionManager(tx).query(`SELECT ${COLUMNS} FROM objects WHERE resource = $1 AND namespace = $2 AND name = $3 FOR UPDATE`, [
      key.resource,
      key.namespace,
      key.name,
    ])) as Row[];
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  async exists(tx: Transaction, key: ObjectKey): Promise<boolean> {
    const rows = (await transactionManager(tx).query(`SELECT 1 FROM objects WHERE resource = $1 AND namespace = $2 AND name = $3`, [key.resource, key.namespace, key.name])) as unknown[];
    return rows.length > 0;
  }

  async insert(tx: Transaction, key: ObjectKey, uid: string, resourceVersion: string, object: JsonObject): Promise<void> {
    await transactionManager(tx).query(
      `INSERT INTO objects (resource, namespace, name, uid, resource_version, generation, object) VALUES ($1, $2, $3, $4, $5::bigint, 1, $6::jsonb)`,
      [key.resource, key.namespace, key.name, uid, resourceVersion, JSON.stringify(object)],
    );
  }

  async update(tx: Transaction, key: ObjectKey, resourceVersion: string, generation: number, object: JsonObject): Promise<void> {
    await transactionManager(tx).query(
      `UPDATE objects SET resource_version = $4::bigint, generation = $5, object = $6::jsonb WHERE resource = $1 AND namespace = $2 AND name = $3`,
      [key.resource, key.namespace, key.name, resourceVersion, generation, JSON.stringify(object)],
    );
  }

  async remove(tx: Transaction, key: ObjectKey): Promise<void> {
    await transactionManager(tx).query(`DELETE FROM objects WHERE resource = $1 AND namespace = $2 AND name = $3`, [key.resource, key.namespace, key.name]);
  }

  /**
   * One page of a resource ordered by (namespace, name), after the given position; `limit + 1`
   * rows are read so the caller knows whether more follow. Inside the caller's (snapshot) transaction.
   */
  async page(tx: Transaction, query: { resource: string; namespace?: string; after?: { namespace: string; name: string }; limit: number }): Promise<ObjectRow[]> {
    const params: unknown[] = [query.resource];
    let where = 'resource = $1';
    if (query.namespace) {
      params.push(query.namespace);
      where += ` AND namespace = $${params.length}`;
    }
    if (query.after) {
      params.push(query.after.namespace, query.after.name);
      where += ` AND (namespace, name) > ($${params.length - 1}, $${params.length})`;
    }
    params.push(query.limit + 1);
    const rows = (await transactionManager(tx).query(`SELECT ${COLUMNS} FROM objects WHERE ${where} ORDER BY namespace, name LIMIT $${params.length}`, params)) as Row[];
    return rows.map(toRow);
  }
}
