import { NAME_COLUMN, TableColumn, TableObject, ageColumn, tableColumn } from '@flotilla/domain';

const isObject = (v: unknown): v is TableObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const specOf = (o: TableObject): TableObject => (isObject(o.spec) ? o.spec : {});
const statusOf = (o: TableObject): TableObject => (isObject(o.status) ? o.status : {});
const text = (v: unknown, none = '<none>'): string => (typeof v === 'string' && v !== '' ? v : none);

function readyCondition(o: TableObject): TableObject | undefined {
  const conditions = Array.isArray(statusOf(o).conditions) ? (statusOf(o).conditions as unknown[]) : [];
  return conditions.filter(isObject).find((c) => c.type === 'Ready');
}

/**
 * `kubectl get clusters`: NAME READY PROVIDER CONNECTION VERSION NODES ZONES AGE, and with
 * `-o wide` the Ready condition's REASON. Cells come from the Cluster as the API shows it (no
 * credential is ever part of it).
 */
export const CLUSTER_COLUMNS: readonly TableColumn[] = [
  NAME_COLUMN,
  tableColumn('Ready', 'The status of the Ready condition: True, False or Unknown', (o) => text(readyCondition(o)?.status, 'Unknown')),
  tableColumn('Provider', 'The provider of the cluster (spec.provider)', (o) => text(specOf(o).provider)),
  tableColumn('Connection', 'How Flotilla connects to the cluster (spec.connection.type)', (o) => text(isObject(specOf(o).connection) ? (specOf(o).connection as TableObject).type : undefined)),
  tableColumn('Version', 'The Kubernetes version of the cluster (status.kubernetesVersion)', (o) => text(statusOf(o).kubernetesVersion, '<unknown>')),
  tableColumn('Nodes', 'The number of nodes in the cluster (status.nodeCount)', (o) => (typeof statusOf(o).nodeCount === 'number' ? (statusOf(o).nodeCount as number) : '<unknown>')),
  tableColumn('Zones', 'The zones of the cluster\'s nodes (status.zones)', (o) => {
    const zones = Array.isArray(statusOf(o).zones) ? (statusOf(o).zones as unknown[]).filter((z): z is string => typeof z === 'string') : [];
    return zones.length > 0 ? zones.join(',') : '<none>';
  }),
  ageColumn('date'),
  tableColumn('Reason', 'The reason of the Ready condition', (o) => text(readyCondition(o)?.reason), { priority: 1 }),
];
