import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { REGISTRY_DATA_SOURCE } from '../../infrastructure/tokens';

export interface ImportJobVersion {
  clusterName: string;
  jobName: string;
  /** Opaque: compared for equality only. */
  resourceVersion: string;
}

/**
 * Reads only the versions of the import_jobs rows (the imports module owns the table and writes
 * it): what the clusters watch needs to tell which job of a watched cluster changed.
 */
@Injectable()
export class ImportJobVersionsRepository {
  constructor(@Inject(REGISTRY_DATA_SOURCE) private readonly db: DataSource) {}

  async versionsOf(clusterNames: readonly string[]): Promise<ImportJobVersion[]> {
    if (clusterNames.length === 0) return [];
    const rows = (await this.db.query(`SELECT name, cluster_name, resource_version::text AS rv FROM import_jobs WHERE cluster_name = ANY($1::text[])`, [clusterNames])) as {
      name: string;
      cluster_name: string;
      rv: string;
    }[];
    return rows.map((r) => ({ clusterName: r.cluster_name, jobName: r.name, resourceVersion: r.rv }));
  }
}
