import { NAME_COLUMN, TableColumn, TableObject, ageColumn, tableColumn } from '@flotilla/domain';

/** Cluster names shown in one cell at most; the rest are counted ("+3"). */
const MAX_CLUSTER_NAMES = 10;
/** Per-cluster states that no longer count as placed (being removed, or left behind as orphans). */
const NOT_PLACED = new Set(['Removed', 'Orphaned']);

const isObject = (v: unknown): v is TableObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const statusOf = (o: TableObject): TableObject => (isObject(o.status) ? o.status : {});
const arrayOf = (v: unknown): TableObject[] => (Array.isArray(v) ? v.filter(isObject) : []);

/** The clusters the object is placed in, as federation-sync reports them in status.clusters. */
function placed(o: TableObject): TableObject[] {
  return arrayOf(statusOf(o).clusters).filter((c) => typeof c.name === 'string' && !NOT_PLACED.has(String(c.status)));
}

/** Applied there, and for a workload every replica ready. */
function readyIn(c: TableObject): boolean {
  if (c.status !== 'Applied') return false;
  if (typeof c.replicas !== 'number') return true;
  return typeof c.readyReplicas === 'number' && c.readyReplicas >= c.replicas;
}

/** The Propagation condition: "True", or its status with the reason ("False (ApplyFailed)"); "Unknown" before federation-sync saw it. */
export function propagationCell(o: TableObject): string {
  const condition = arrayOf(statusOf(o).conditions).find((c) => c.type === 'Propagation');
  if (!condition) return 'Unknown';
  const status = typeof condition.status === 'string' ? condition.status : 'Unknown';
  const reason = typeof condition.reason === 'string' && condition.reason !== '' ? condition.reason : '';
  return status === 'True' || reason === '' ? status : `${status} (${reason})`;
}

/** "ready/placed" clusters, e.g. "2/3". */
export function readyClustersCell(o: TableObject): string {
  const clusters = placed(o);
  return `${clusters.filter(readyIn).length}/${clusters.length}`;
}

export function clustersCell(o: TableObject): string {
  const names = placed(o).map((c) => String(c.name));
  if (names.length === 0) return '<none>';
  const shown = names.slice(0, MAX_CLUSTER_NAMES).join(',');
  return names.length > MAX_CLUSTER_NAMES ? `${shown},+${names.length - MAX_CLUSTER_NAMES}` : shown;
}

/** The columns of every federated kind (FederatedDeployment, FederatedObject, ...): NAME PROPAGATION READY CLUSTERS AGE. */
export const FEDERATED_COLUMNS: readonly TableColumn[] = [
  NAME_COLUMN,
  tableColumn('Propagation', 'The Propagation condition of the federated object: its status, and its reason when not True', propagationCell),
  tableColumn('Ready', 'Clusters where the object is applied (and, for workloads, every replica is ready) out of the clusters it is placed in', readyClustersCell),
  tableColumn('Clusters', 'The clusters the object is placed in', clustersCell),
  ageColumn('date'),
];

/** ReplicaSchedulingPreference: NAME TARGET TOTAL AGE. */
export const RSP_COLUMNS: readonly TableColumn[] = [
  NAME_COLUMN,
  tableColumn('Target Kind', 'The federated kind whose replicas are divided', (o) => {
    const spec = isObject(o.spec) ? o.spec : {};
    return typeof spec.targetKind === 'string' ? spec.targetKind : '';
  }),
  tableColumn('Total Replicas', 'The replicas divided among the clusters', (o) => {
    const spec = isObject(o.spec) ? o.spec : {};
    return typeof spec.totalReplicas === 'number' ? spec.totalReplicas : '<none>';
  }),
  ageColumn('date'),
];
