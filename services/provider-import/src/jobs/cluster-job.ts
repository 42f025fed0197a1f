import type { Cluster, ImportJobType } from '@flotilla/domain';
import type { ImportJobsClient } from '@flotilla/clients';
import type { Logger } from '@flotilla/observability';
import { JOBS, JobName } from '@flotilla/queue';
import type { JobContext } from '@flotilla/queue';
import { JobRecorder } from './job-recorder';

/** Where the job's attempt stands in its queue's retry policy. */
export interface JobAttempts {
  /** BullMQ will not run this job again after this attempt. */
  last: boolean;
  /** The retry policy's number of attempts. */
  max: number;
}

/** One kind of cluster job (import, removal): when it applies, its steps, and what a failure does. */
export interface ClusterJob {
  type: ImportJobType;
  /** The queue job, for its retry policy. */
  queueJob: JobName.ClusterImport | JobName.ClusterRemove;
  /** False when there is nothing to do for the cluster as found (e.g. not its connection type): the job ends quietly. */
  applies(cluster: Cluster): boolean;
  steps(cluster: Cluster, record: JobRecorder): Promise<void>;
  /** Given what `steps` threw. Returning ends the job; throwing has BullMQ retry it (or fail it after the last attempt). */
  failed(error: unknown, cluster: Cluster, record: JobRecorder, attempts: JobAttempts): Promise<void>;
}

/** What running a cluster job needs. */
export interface ClusterJobDeps {
  findCluster(name: string): Promise<Cluster | undefined>;
  reports: ImportJobsClient;
  logger: Logger;
}

const PROGRESS_NAME: Record<ImportJobType, string> = { import: 'import', remove: 'removal' };

/**
 * The shape every cluster job shares: load the cluster the payload names (and end quietly when it
 * is gone or replaced by another of the same name), check the job applies, run its steps with a job
 * recorder, and hand a failure to the job with where it stands in its retry policy.
 */
export async function runClusterJob(deps: ClusterJobDeps, job: ClusterJob, payload: { name: string; uid: string }, context?: JobContext): Promise<void> {
  const cluster = await deps.findCluster(payload.name);
  if (!cluster || cluster.metadata.uid !== payload.uid || !job.applies(cluster)) return;
  const record = new JobRecorder(deps.reports, context, job.type, payload.name, payload.uid, (e) =>
    deps.logger.warn({ cluster: payload.name, err: e instanceof Error ? e.message : String(e) }, `reporting ${PROGRESS_NAME[job.type]} progress failed`),
  );
  try {
    await job.steps(cluster, record);
  } catch (error) {
    const max = JOBS[job.queueJob].attempts;
    await job.failed(error, cluster, record, { last: (context?.attempt ?? max) >= max, max });
  }
}
