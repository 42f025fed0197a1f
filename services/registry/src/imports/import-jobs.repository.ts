import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { ImportJob, ImportJobOrphan, ImportJobState, ImportJobStep, ImportJobType } from '@flotilla/domain';
import { NotifyChannel } from '../infrastructure/change-listener';
import { REGISTRY_DATA_SOURCE } from '../infrastructure/tokens';

interface Row {
  name: string;
  type: ImportJobType;
  cluster_name: string;
  cluster_uid: string;
  state: ImportJobState;
  step: string;
  percent: number;
  message: string;
  steps: ImportJobStep[];
  orphans: ImportJobOrphan[];
  warnings: string[];
  start_time: Date | null;
  completion_time: Date | null;
  resource_version: string;
  created_at: Date;
}

const iso = (d: Date | null) => (d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined);

function toJob(r: Row): ImportJob {
  const job: ImportJob = {
    apiVersion: 'cluster.kubesphere.io/v1alpha1',
    kind: 'ImportJob',
    metadata: { name: r.name, resourceVersion: String(r.resource_version), creationTimestamp: iso(r.created_at)!, labels: { 'cluster.kubesphere.io/name': r.cluster_name } },
    spec: { type: r.type, clusterName: r.cluster_name, clusterUid: r.cluster_uid },
    status: { state: r.state, step: r.step, percent: r.percent, steps: r.steps },
  };
  if (r.message) job.status.message = r.message;
  if (r.orphans.length > 0) job.status.orphans = r.orphans;
  if (r.warnings.length > 0) job.status.warnings = r.warnings;
  if (r.start_time) job.status.startTime = iso(r.start_time);
  if (r.completion_time) job.status.completionTime = iso(r.completion_time);
  return job;
}

/** The only code that touches the import_jobs table. */
@Injectable()
export class ImportJobsRepository {
  constructor(@Inject(REGISTRY_DATA_SOURCE) private readonly db: DataSource) {}

  async upsert(job: ImportJob): Promise<ImportJob> {
    const s = job.status;
    const rows = (await this.db.query(
      `INSERT INTO import_jobs (name, type, cluster_name, cluster_uid, state, step, percent, message, steps, orphans, warnings, start_time, completion_time, resource_version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11::jsonb, $12, $13, nextval('flotilla_resource_version'))
       ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state, step = EXCLUDED.step, percent = EXCLUDED.percent, message = EXCLUDED.message,
         steps = EXCLUDED.steps, orphans = EXCLUDED.orphans, warnings = EXCLUDED.warnings, start_time = COALESCE(import_jobs.start_time, EXCLUDED.start_time),
         completion_time = EXCLUDED.completion_time, resource_version = EXCLUDED.resource_version, cluster_name = EXCLUDED.cluster_name
       RETURNING *`,
      [
        job.metadata.name,
        job.spec.type,
        job.spec.clusterName,
        job.spec.clusterUid,
        s.state,
        s.step,
        s.percent,
        s.message ?? '',
        JSON.stringify(s.steps),
        JSON.stringify(s.orphans ?? []),
        JSON.stringify(s.warnings ?? []),
        s.startTime ?? null,
        s.completionTime ?? null,
      ],
    )) as Row[];
    // Wakes the job streams of this cluster at once (the import-job feed also re-checks on a poll).
    await this.db.query('SELECT pg_notify($1, $2)', [NotifyChannel.importJobs, job.spec.clusterName]);
    return toJob(rows[0]!);
  }

  async listForCluster(clusterName: string): Promise<ImportJob[]> {
    const rows = (await this.db.query(`SELECT * FROM import_jobs WHERE cluster_name = $1 ORDER BY created_at DESC, name`, [clusterName])) as Row[];
    return rows.map(toJob);
  }

  /** Drops finished jobs (Succeeded or Failed) that completed more than `olderThanSeconds` ago; running ones stay. */
  async pruneFinished(olderThanSeconds: number): Promise<number> {
    const result = (await this.db.query(
      `DELETE FROM import_jobs WHERE state IN ('Succeeded', 'Failed') AND COALESCE(completion_time, created_at) < now() - make_interval(secs => $1)`,
      [olderThanSeconds],
    )) as [unknown, number];
    return result[1] ?? 0;
  }
}
