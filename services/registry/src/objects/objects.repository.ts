import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Transaction, transactionManager } from '@flotilla/persistence';
import { REGISTRY_DATA_SOURCE } from '../infrastructure/tokens';
import type { JsonObject, ObjectKey } from './object-rules';
import { SEALED_KEY, SealedValue } from './sealed-fields';

/** An object whose sealed part is to be re-encrypted (ADR 0034). */
export interface SealedRow extends ObjectKey {
  uid: string;
  sealed: SealedValue;
}

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

  /** Locks (SKIP LOCKED) up to `limit` objects of the given resources whose sealed part is under another key than `keyId`. */
  async lockSealedNotUnderKey(tx: Transaction, resources: readonly string[], keyId: string, limit: number): Promise<SealedRow[]> {
    const rows = (await transactionManager(tx).query(
      `SELECT resource, namespace, name, object->'metadata'->>'uid' AS uid, object->'${SEALED_KEY}' AS sealed FROM objects
        WHERE resource = ANY($1::text[]) AND object ? '${SEALED_KEY}' AND object->'${SEALED_KEY}'->>'keyId' <> $2
        LIMIT $3 FOR UPDATE SKIP LOCKED`,
      [resources, keyId, limit],
    )) as { resource: string; namespace: string; name: string; uid: string | null; sealed: SealedValue }[];
    return rows.map((r) => ({ resource: r.resource, namespace: r.namespace, name: r.name, uid: r.uid ?? '', sealed: r.sealed }));
  }

  /** Replaces the sealed part only: the visible object and its resourceVersion stay. */
  async replaceSealed(tx: Transaction, key: ObjectKey, sealed: SealedValue): Promise<void> {
    await transactionManager(tx).query(
      `UPDATE objects SET object = jsonb_set(object, '{${SEALED_KEY}}', $4::jsonb) WHERE resource = $1 AND namespace = $2 AND name = $3`,
      [key.resource, key.namespace, key.name, JSON.stringify(sealed)],
    );
  }

  async countSealedNotUnderKey(resources: readonly string[], keyId: string): Promise<number> {
    const rows = (await this.db.query(
      `SELECT count(*)::int AS n FROM objects WHERE resource = ANY($1::text[]) AND object ? '${SEALED_KEY}' AND object->'${SEALED_KEY}'->>'keyId' <> $2`,
      [resources, keyId],
    )) as { n: number }[];
    return rows[0]?.n ?? 0;
  }

  async countSealedByKey(resources: readonly string[]): Promise<Map<string, number>> {
    const rows = (await this.db.query(
      `SELECT object->'${SEALED_KEY}'->>'keyId' AS key_id, count(*)::int AS n FROM objects
        WHERE resource = ANY($1::text[]) AND object ? '${SEALED_KEY}' GROUP BY 1`,
      [resources],
    )) as { key_id: string; n: number }[];
    return new Map(rows.map((r) => [r.key_id, r.n]));
  }
}
