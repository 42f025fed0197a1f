import { Cluster, ClusterConditionType, ConnectionType, UNBIND_FINALIZER, findCondition } from '@flotilla/domain';
import { JobName } from '@flotilla/queue';
import { IMPORT_PENDING_REASON } from '../jobs/cluster-job';

/** A cluster whose import or removal has waited longer than the bound, and the job that should be running for it. */
export interface StuckCluster {
  job: JobName.ClusterImport | JobName.ClusterRemove;
  payload: { name: string; uid: string };
  /** Seconds since the import or removal began. */
  waitedSeconds: number;
}

/**
 * Pure: is this cluster stuck? An import is pending while Initialized=False has the registry's
 * reason "Pending" (no job has recorded an outcome); a removal while the cluster is marked for
 * deletion and still holds the unbind finalizer. Stuck = pending for longer than `boundSeconds`.
 * Agent connections import themselves (the import job ends quietly for them): never stuck here.
 */
export function stuckJob(cluster: Cluster, nowMs: number, boundSeconds: number): StuckCluster | undefined {
  const { name, uid, deletionTimestamp, creationTimestamp } = cluster.metadata;
  if (!uid) return undefined;
  const waited = (since: string | undefined) => (since ? (nowMs - Date.parse(since)) / 1000 : Number.NaN);
  if (deletionTimestamp) {
    if (!(cluster.metadata.finalizers ?? []).includes(UNBIND_FINALIZER)) return undefined;
    const w = waited(deletionTimestamp);
    return w > boundSeconds ? { job: JobName.ClusterRemove, payload: { name, uid }, waitedSeconds: w } : undefined;
  }
  if (cluster.spec.connection.type !== ConnectionType.Direct) return undefined;
  const initialized = findCondition(cluster.status?.conditions, ClusterConditionType.Initialized);
  if (initialized && (initialized.status === 'True' || initialized.reason !== IMPORT_PENDING_REASON)) return undefined;
  const w = waited(creationTimestamp);
  return w > boundSeconds ? { job: JobName.ClusterImport, payload: { name, uid }, waitedSeconds: w } : undefined;
}
