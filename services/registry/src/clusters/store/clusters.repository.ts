import { Inject, Injectable } from '@nestjs/common';
import { DataSource, SelectQueryBuilder } from 'typeorm';
import { Cluster, ClusterErrors, FieldRequirement, LabelRequirement } from '@flotilla/domain';
import { Transaction, transactionManager } from '@flotilla/persistence';
import { REGISTRY_DATA_SOURCE } from '../../infrastructure/tokens';
import { ClusterEntity } from './cluster.entity';
import { toCluster, toClusterEntity } from './cluster.mapper';

export interface ListQuery {
  labels: LabelRequirement[];
  fields: FieldRequirement[];
  limit?: number;
  afterName?: string;
}

export interface ListResult {
  items: Cluster[];
  hasMore: boolean;
  remaining?: number;
}

const UNIQUE_VIOLATION = '23505';

const isUniqueViolation = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: string }).code === UNIQUE_VIOLATION;

/** The clusters table: reads, and writes inside a unit of work. Takes and returns domain Clusters. */
@Injectable()
export class ClustersRepository {
  constructor(@Inject(REGISTRY_DATA_SOURCE) private readonly db: DataSource) {}

  async findByName(name: string): Promise<Cluster | null> {
    const entity = await this.db.getRepository(ClusterEntity).findOne({ where: { name } });
    return entity ? toCluster(entity) : null;
  }

  /** Reads a cluster and locks its row until the transaction ends. */
  async findByNameForUpdate(tx: Transaction, name: string): Promise<Cluster | null> {
    const entity = await transactionManager(tx)
      .getRepository(ClusterEntity)
      .createQueryBuilder('c')
      .setLock('pessimistic_write')
      .where('c.name = :name', { name })
      .getOne();
    return entity ? toCluster(entity) : null;
  }

  /**
   * Reads clusters by name and locks their rows until the transaction ends, in name order: two
   * writers of overlapping sets take the locks in the same order and cannot deadlock.
   */
  async findByNamesForUpdate(tx: Transaction, names: string[]): Promise<Cluster[]> {
    if (names.length === 0) return [];
    const entities = await transactionManager(tx)
      .getRepository(ClusterEntity)
      .createQueryBuilder('c')
      .setLock('pessimistic_write')
      .where('c.name = ANY(:names)', { names })
      .orderBy('c.name', 'ASC')
      .getMany();
    return entities.map(toCluster);
  }

  /** Stores new statuses, each at its cluster's new metadata.resourceVersion, in one statement. */
  async updateStatuses(tx: Transaction, clusters: Cluster[]): Promise<void> {
    if (clusters.length === 0) return;
    const rows = clusters.map((c) => ({ uid: c.metadata.uid, rv: c.metadata.resourceVersion, status: c.status ?? {} }));
    await transactionManager(tx).query(
      `UPDATE clusters c SET status = u.status, resource_version = u.rv
         FROM jsonb_to_recordset($1::jsonb) AS u(uid uuid, rv bigint, status jsonb) WHERE c.uid = u.uid`,
      [JSON.stringify(rows)],
    );
  }

  /** Which of `names` are stored clusters. */
  async existingNames(names: string[]): Promise<Set<string>> {
    if (names.length === 0) return new Set();
    const rows = (await this.db.query('SELECT name FROM clusters WHERE name = ANY($1::text[])', [names])) as { name: string }[];
    return new Set(rows.map((r) => r.name));
  }

  /** Stores a new cluster; returns it as stored. A taken name is AlreadyExists. */
  async insert(tx: Transaction, cluster: Cluster): Promise<Cluster> {
    const entity = toClusterEntity(cluster);
    try {
      await transactionManager(tx).getRepository(ClusterEntity).insert(entity);
    } catch (error) {
      if (isUniqueViolation(error)) throw ClusterErrors.alreadyExists(entity.name);
      throw error;
    }
    return toCluster(entity);
  }

  /** Replaces a stored cluster's record; returns it as stored. */
  async update(tx: Transaction, cluster: Cluster): Promise<Cluster> {
    const entity = toClusterEntity(cluster);
    await transactionManager(tx).getRepository(ClusterEntity).save(entity);
    return toCluster(entity);
  }

  /** Deletes the record (its credentials go with it: ON DELETE CASCADE). */
  async remove(tx: Transaction, uid: string): Promise<void> {
    await transactionManager(tx).getRepository(ClusterEntity).delete({ uid });
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
    if (query.limit === undefined) return { items: (await qb.getMany()).map(toCluster), hasMore: false };
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
    return { items: items.map(toCluster), hasMore, remaining };
  }
}
