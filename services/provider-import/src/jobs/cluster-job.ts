import { ClusterConditionType, FlotillaError, findCondition } from '@flotilla/domain';
import type { Cluster, ImportJobType } from '@flotilla/domain';
import type { ImportJobsClient } from '@flotilla/clients';
import type { Logger } from '@flotilla/observability';
import { JOBS, JobName } from '@flotilla/queue';
import type { JobContext } from '@flotilla/queue';
import { JobRecorder } from './job-recorder';
import { closeSettledImportRecord } from './settled-record';

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

/**
 * Errors worth another attempt: a dependency that did not answer (gRPC UNAVAILABLE and
 * DEADLINE_EXCEEDED arrive as ServiceUnavailable and Timeout), and anything that is not a domain
 * error (a reset connection). A domain error of any other reason (Invalid, a refused check) will
 * not change by retrying: it is the job's outcome at once, with its reason.
 */
export function retryable(error: unknown): boolean {
  return !(error instanceof FlotillaError) || FlotillaError.isRetryable(error);
}

/**
 * True when an import already ran to an outcome for this cluster (Initialized is no longer the
 * registry's "Pending"): a job sent again after Redis lost it (the outbox's verify pass, the
 * reconciler) must not import a second time.
 */
export function importSettled(cluster: Cluster): boolean {
  const initialized = findCondition(cluster.status?.conditions, ClusterConditionType.Initialized);
  return !!initialized && initialized.reason !== IMPORT_PENDING_REASON;
}

/** The reason the registry gives Initialized=False on a cluster waiting for its import job. */
export const IMPORT_PENDING_REASON = 'Pending';

const PROGRESS_NAME: Record<ImportJobType, string> = { import: 'import', remove: 'removal' };

/**
 * The shape every cluster job shares: load the cluster the payload names (and end quietly when it
 * is gone or replaced by another of the same name), check the job applies, run its steps with a job
 * recorder, and hand a failure to the job with where it stands in its retry policy.
 */
export async function runClusterJob(deps: ClusterJobDeps, job: ClusterJob, payload: { name: string; uid: string }, context?: JobContext): Promise<void> {
  const cluster = await deps.findCluster(payload.name);
  if (!cluster || cluster.metadata.uid !== payload.uid || !job.applies(cluster)) return;
  if (job.type === 'import' && importSettled(cluster)) {
    // Settled, perhaps by a run that died before its record said so: the record follows the cluster.
    if (await closeSettledImportRecord(deps.reports, cluster)) deps.logger.warn({ cluster: payload.name }, 'import record closed from the outcome the cluster holds (its run ended without reporting it)');
    return;
  }
  const record = new JobRecorder(deps.reports, context, job.type, payload.name, payload.uid, (e) =>
    deps.logger.warn({ cluster: payload.name, err: e instanceof Error ? e.message : String(e) }, `reporting ${PROGRESS_NAME[job.type]} progress failed`),
  );
  try {
    await job.steps(cluster, record);
  } catch (error) {
    const max = JOBS[job.queueJob].attempts;
    const last = (context?.attempt ?? max) >= max;
    // A registry (or other dependency) timeout is not the import's outcome: BullMQ tries again with
    // backoff; only the last attempt hands it to the job as a failure.
    if (retryable(error) && !last) throw error;
    await job.failed(error, cluster, record, { last, max });
  }
}
