import { ClusterConditionType, findCondition, importJobName } from '@flotilla/domain';
import type { Cluster } from '@flotilla/domain';
import type { ImportJobsClient } from '@flotilla/clients';

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Closes the job record of an import the cluster shows settled while the record still says
 * Pending or Running: the process running it died between writing the cluster's outcome and
 * reporting it (a SIGKILL mid-import), or its final report was lost. The record takes the
 * outcome the cluster holds (Initialized True: Succeeded; False: Failed, with its message); its
 * steps are kept. Returns whether it wrote.
 */
export async function closeSettledImportRecord(reports: Pick<ImportJobsClient, 'list' | 'report'>, cluster: Cluster): Promise<boolean> {
  const uid = cluster.metadata.uid;
  const initialized = findCondition(cluster.status?.conditions, ClusterConditionType.Initialized);
  if (!uid || !initialized) return false;
  const record = (await reports.list(cluster.metadata.name)).find((r) => r.metadata.name === importJobName('import', uid));
  if (!record || record.status.state === 'Succeeded' || record.status.state === 'Failed') return false;
  const state = initialized.status === 'True' ? 'Succeeded' : 'Failed';
  const open = record.status.steps[record.status.steps.length - 1];
  if (open && open.state === 'Running') open.state = state;
  record.status = {
    ...record.status,
    state,
    ...(state === 'Succeeded' ? { percent: 100 } : {}),
    message: initialized.message ?? '',
    completionTime: now(),
  };
  await reports.report(record);
  return true;
}
