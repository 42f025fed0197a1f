import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager, SelectQueryBuilder } from 'typeorm';
import type { FieldRequirement, LabelRequirement } from '@flotilla/domain';
import type { EncryptedValue } from '@flotilla/persistence';
import { ChangeType, ClusterChangeEntity, ClusterCredentialEntity, ClusterEntity, CredentialKind } from './cluster.entity';

export const REGISTRY_DATA_SOURCE = Symbol('registry.data-source');

/** Serialises writers so resourceVersions are handed out in commit order (the watch relies on it). */
const WRITE_LOCK_KEY = 0x666c6f74; // "flot"

export interface ListQuery {
  labels: LabelRequirement[];
  fields: FieldRequirement[];
  limit?: number;
  afterName?: string;
}

export interface ListResult {
  items: ClusterEntity[];
  hasMore: boolean;
  remaining?: number;
}

const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === UNIQUE_VIOLATION;
}

/** The write side of one transaction. Nothing here commits on its own. */
export class ClustersTransaction {
  constructor(private readonly em: EntityManager) {}

  /** Takes the writers' lock and the next resourceVersion. */
  async nextResourceVersion(): Promise<string> {
    await this.em.query('SELECT pg_advisory_xact_lock($1)', [WRITE_LOCK_KEY]);
    const [row] = (await this.em.query(`SELECT nextval('flotilla_resource_version')::text AS rv`)) as { rv: string }[];
    return row!.rv;
  }

  findByNameForUpdate(name: string): Promise<ClusterEntity | null> {
    return this.em.getRepository(ClusterEntity).createQueryBuilder('c').setLock('pessimistic_write').where('c.name = :name', { name }).getOne();
  }

  async insert(cluster: ClusterEntity): Promise<void> {
    await this.em.getRepository(ClusterEntity).insert(cluster);
  }

  async save(cluster: ClusterEntity): Promise<void> {
    await this.em.getRepository(ClusterEntity).save(cluster);
  }

  async remove(uid: string): Promise<void> {
    await this.em.getRepository(ClusterEntity).delete({ uid });
  }

  async putCredential(clusterUid: string, kind: CredentialKind, value: EncryptedValue): Promise<void> {
    await this.em
      .createQueryBuilder()
      .insert()
      .into(ClusterCredentialEntity)
      .values({ clusterUid, kind, keyId: value.keyId, ciphertext: value.ciphertext, updatedAt: new Date() })
      .orUpdate(['key_id', 'ciphertext', 'updated_at'], ['cluster_uid', 'kind'])
      .execute();
  }

  async appendChange(type: ChangeType, resourceVersion: string, clusterUid: string, name: string, object: Record<string, unknown>): Promise<void> {
    await this.em.query(`INSERT INTO cluster_changes (resource_version, type, cluster_uid, name, object) VALUES ($1, $2, $3, $4, $5::jsonb)`, [
      resourceVersion,
      type,
      clusterUid,
      name,
      JSON.stringify(object),
    ]);
    await this.em.query(`SELECT pg_notify('flotilla_cluster_changes', $1)`, [resourceVersion]);
  }

  /** Adds a job to the outbox; a second job with the same idempotency key is ignored. */
  async addJob(jobName: string, payload: Record<string, unknown>, idempotencyKey: string): Promise<void> {
    await this.em.query(
      `INSERT INTO job_outbox (job_name, payload, idempotency_key) VALUES ($1, $2::jsonb, $3) ON CONFLICT (idempotency_key) DO NOTHING`,
      [jobName, JSON.stringify(payload), idempotencyKey],
    );
    await this.em.query(`SELECT pg_notify('flotilla_job_outbox', '')`);
  }
}

/** The only code that touches the registry's tables. */
@Injectable()
export class ClustersRepository {
  constructor(@Inject(REGISTRY_DATA_SOURCE) private readonly db: DataSource) {}

  transaction<T>(work: (tx: ClustersTransaction) => Promise<T>): Promise<T> {
    return this.db.transaction('READ COMMITTED', (em) => work(new ClustersTransaction(em)));
  }

  findByName(name: string): Promise<ClusterEntity | null> {
    return this.db.getRepository(ClusterEntity).findOne({ where: { name } });
  }

  /** Which of `names` are stored clusters. */
  async existingNames(names: string[]): Promise<Set<string>> {
    if (names.length === 0) return new Set();
    const rows = (await this.db.query('SELECT name FROM clusters WHERE name = ANY($1::text[])', [names])) as { name: string }[];
    return new Set(rows.map((r) => r.name));
  }

  async credentials(clusterUid: string): Promise<ClusterCredentialEntity[]> {
    return this.db.getRepository(ClusterCredentialEntity).find({ where: { clusterUid } });
  }

  async currentResourceVersion(): Promise<string> {
    const [row] = (await this.db.query(
      `SELECT COALESCE((SELECT max(resource_version) FROM cluster_changes), (SELECT last_value FROM flotilla_resource_version))::text AS rv`,
    )) as { rv: string }[];
    return row!.rv;
  }

  private applyFilters(qb: SelectQueryBuilder<ClusterEntity>, query: ListQuery): SelectQueryBuilder<ClusterEntity> {
    query.labels.forEach((r, i) => {
      const key = `lk${i}`;
      const values = `lv${i}`;
      switch (r.operator) {
        case 'Exists':
          qb.andWhere(`jsonb_exists(c.labels, :${key})`, { [key]: r.key });
          break;
        case 'DoesNotExist':
          qb.andWhere(`NOT jsonb_exists(c.labels, :${key})`, { [key]: r.key });
          break;
        case 'In':
          qb.andWhere(`(c.labels ->> :${key}) = ANY(:${values})`, { [key]: r.key, [values]: r.values });
          break;
        case 'NotIn':
          qb.andWhere(`((c.labels ->> :${key}) IS NULL OR NOT ((c.labels ->> :${key}) = ANY(:${values})))`, { [key]: r.key, [values]: r.values });
          break;
      }
    });
    query.fields.forEach((f, i) => {
      const p = `fv${i}`;
      // metadata.name is the only selectable field.
      qb.andWhere(f.operator === 'In' ? `c.name = :${p}` : `c.name <> :${p}`, { [p]: f.value });
    });
    return qb;
  }

  async list(query: ListQuery): Promise<ListResult> {
    const qb = this.applyFilters(this.db.getRepository(ClusterEntity).createQueryBuilder('c'), query).orderBy('c.name', 'ASC');
    if (query.afterName !== undefined) qb.andWhere('c.name > :after', { after: query.afterName });
    if (query.limit === undefined) return { items: await qb.getMany(), hasMore: false };
    const rows = await qb.take(query.limit + 1).getMany();
    const hasMore = rows.length > query.limit;
    const items = rows.slice(0, query.limit);
    let remaining: number | undefined;
    if (hasMore) {
      const counter = this.applyFilters(this.db.getRepository(ClusterEntity).createQueryBuilder('c'), query).andWhere('c.name > :last', {
        last: items[items.length - 1]!.name,
      });
      remaining = await counter.getCount();
    }
    return { items, hasMore, remaining };
  }

  /** Changes after a resourceVersion, oldest first. */
  changesAfter(resourceVersion: string, limit: number): Promise<ClusterChangeEntity[]> {
    return this.db
      .getRepository(ClusterChangeEntity)
      .createQueryBuilder('ch')
      .where('ch.resource_version > :rv::bigint', { rv: resourceVersion })
      .orderBy('ch.resource_version', 'ASC')
      .take(limit)
      .getMany();
  }

  /** The oldest resourceVersion a watch can still resume after (older ones were pruned). */
  async oldestResumableVersion(): Promise<string | undefined> {
    const [row] = (await this.db.query(`SELECT min(resource_version)::text AS rv FROM cluster_changes`)) as { rv: string | null }[];
    if (!row?.rv) return undefined;
    return (BigInt(row.rv) - 1n).toString();
  }

  /** Keeps the change log bounded: drops changes older than the window, keeping the newest. */
  async pruneChanges(olderThanSeconds: number, keepAtLeast: number): Promise<number> {
    const result = (await this.db.query(
      `DELETE FROM cluster_changes WHERE created_at < now() - make_interval(secs => $1)
         AND resource_version < (SELECT COALESCE(min(resource_version), 0) FROM (SELECT resource_version FROM cluster_changes ORDER BY resource_version DESC LIMIT $2) newest)`,
      [olderThanSeconds, keepAtLeast],
    )) as [unknown, number];
    return result[1] ?? 0;
  }
}
