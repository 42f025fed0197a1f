import { CLUSTER_API_VERSION, ClusterConditionType, IMPORT_JOB_KIND, ImportJob, findCondition, importJobName } from '@flotilla/domain';
import type { ImportJobsClient } from '@flotilla/clients';
import { JobName } from '@flotilla/queue';
import type { ClusterRecords } from '../import/cluster-records';
import { IMPORT_PENDING_REASON } from '../jobs/cluster-job';

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Records on the cluster a job BullMQ gave up on without its handler saying so (it stalled
 * because its worker died, or the handler's own report failed): the job record turns Failed
 * (its steps kept), and an import still Pending gets Initialized=False, reason ImportFailed, with
 * BullMQ's reason. Idempotent: an outcome already recorded is left as it is.
 */
export async function recordGaveUp(
  deps: { records: Pick<ClusterRecords, 'find' | 'setStatus'>; reports: Pick<ImportJobsClient, 'list' | 'report'> },
  jobName: string,
  payload: { name: string; uid: string },
  reason: string,
): Promise<boolean> {
  const type = jobName === JobName.ClusterImport ? 'import' : jobName === JobName.ClusterRemove ? 'remove' : undefined;
  if (!type) return false;
  const cluster = await deps.records.find(payload.name);
  if (!cluster || cluster.metadata.uid !== payload.uid) return false;
  const what = type === 'import' ? 'import' : 'removal';
  const message = `the ${what} job failed: ${reason.slice(0, 300)}; ${type === 'import' ? 'delete the cluster and create it again' : 'retry the failed cluster.remove job, or remove the finalizer cluster.flotilla.io/unbind by hand'}`;
  let changed = false;
  const records = await deps.reports.list(payload.name);
  const existing = records.find((r) => r.metadata.name === importJobName(type, payload.uid));
  if (!existing || (existing.status.state !== 'Failed' && existing.status.state !== 'Succeeded')) {
    const job: ImportJob = existing ?? {
      apiVersion: CLUSTER_API_VERSION,
      kind: IMPORT_JOB_KIND,
      metadata: { name: importJobName(type, payload.uid) },
      spec: { type, clusterName: payload.name, clusterUid: payload.uid },
      status: { state: 'Pending', step: '', percent: 0, steps: [] },
    };
    const open = job.status.steps[job.status.steps.length - 1];
    if (open && open.state === 'Running') open.state = 'Failed';
    job.status = { ...job.status, state: 'Failed', message, completionTime: now() };
    await deps.reports.report(job);
    changed = true;
  }
  if (type === 'import') {
    const initialized = findCondition(cluster.status?.conditions, ClusterConditionType.Initialized);
    if (!initialized || (initialized.status !== 'True' && initialized.reason === IMPORT_PENDING_REASON)) {
      await deps.records.setStatus(payload.name, {
        ...(cluster.status ?? {}),
        conditions: [
          { type: ClusterConditionType.Initialized, status: 'False', reason: 'ImportFailed', message },
          { type: ClusterConditionType.Ready, status: 'False', reason: 'ImportFailed', message: 'the import did not complete; see the Initialized condition' },
        ],
      });
      changed = true;
    }
  }
  return changed;
}
