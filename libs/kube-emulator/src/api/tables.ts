/** Server-side printing: meta.k8s.io/v1 Table output as `kubectl get` requests it. */
import { getPath, isObject, type JsonObject, type JsonValue, obj, str } from '@flotilla/apply';
import { TABLE_AGE_DESCRIPTION, TABLE_NAME_DESCRIPTION, humanDuration } from '@flotilla/domain';
import type { ResourceDef } from './resources';

const NAME_DESC = TABLE_NAME_DESCRIPTION;
const AGE_DESC = TABLE_AGE_DESCRIPTION;

type Cell = string | number | boolean;
interface Column {
  name: string;
  type?: string;
  format?: string;
  description: string;
  priority?: number;
  cell: (o: JsonObject, now: number) => Cell;
}

const name: Column = { name: 'Name', format: 'name', description: NAME_DESC, cell: (o) => str(obj(o.metadata)?.name) ?? '' };
const age = (type = 'string'): Column => ({
  name: 'Age',
  type,
  description: AGE_DESC,
  cell: (o, now) => {
    const ts = str(obj(o.metadata)?.creationTimestamp);
    return ts ? humanDuration(now - Date.parse(ts)) : '<unknown>';
  },
});
const createdAt: Column = { name: 'Created At', type: 'date', description: AGE_DESC, cell: (o) => str(obj(o.metadata)?.creationTimestamp) ?? '' };
const num = (v: JsonValue | undefined): number => (typeof v === 'number' ? v : 0);
const count = (v: JsonValue | undefined): number => (isObject(v) ? Object.keys(v).length : Array.isArray(v) ? v.length : 0);
const podSpecOf = (o: JsonObject): JsonObject | undefined => obj(obj(obj(o.spec)?.template)?.spec);
const containerNames = (spec: JsonObject | undefined): string =>
  (Array.isArray(spec?.containers) ? spec.containers : []).map((c) => str(obj(c)?.name) ?? '').join(',');
const containerImages = (spec: JsonObject | undefined): string =>
  (Array.isArray(spec?.containers) ? spec.containers : []).map((c) => str(obj(c)?.image) ?? '').join(',');
function selectorString(sel: JsonValue | undefined): string {
  const s = obj(sel);
  if (!s) return '<none>';
  const parts = Object.entries(obj(s.matchLabels) ?? {}).map(([k, v]) => `${k}=${String(v)}`);
  for (const e of Array.isArray(s.matchExpressions) ? s.matchExpressions : []) {
    const x = obj(e);
    if (!x) continue;
    const vals = Array.isArray(x.values) ? x.values.join(',') : '';
    if (x.operator === 'Exists') parts.push(String(x.key));
    else if (x.operator === 'DoesNotExist') parts.push(`!${String(x.key)}`);
    else parts.push(`${String(x.key)} ${String(x.operator).toLowerCase()} (${vals})`);
  }
  return parts.join(',') || '<none>';
}
const col = (n: string, description: string, cell: Column['cell'], priority = 0, type = 'string'): Column => ({ name: n, description, cell, priority, type });

const COLUMNS: Record<string, Column[]> = {
  '/Namespace': [name, col('Status', 'The status of the namespace', (o) => str(obj(o.status)?.phase) ?? ''), age()],
  '/ConfigMap': [
    name,
    col(
      'Data',
      "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.",
      (o) => count(o.data) + count(o.binaryData),
    ),
    age(),
  ],
  '/Secret': [name, col('Type', 'The type of the secret', (o) => str(o.type) ?? ''), col('Data', 'The number of entries in the secret', (o) => count(o.data)), age()],
  '/ServiceAccount': [name, col('Secrets', 'Secrets is the list of secrets allowed to be used by pods running using this ServiceAccount.', (o) => count(o.secrets)), age()],
  '/Pod': [
    name,
    col('Ready', 'The aggregate readiness state of this pod for accepting traffic.', (o) => {
      const cs = Array.isArray(obj(o.status)?.containerStatuses) ? (obj(o.status)?.containerStatuses as JsonValue[]) : [];
      const total = Array.isArray(obj(o.spec)?.containers) ? (obj(o.spec)?.containers as JsonValue[]).length : 0;
      return `${cs.filter((c) => obj(c)?.ready === true).length}/${total}`;
    }),
    col('Status', 'The aggregate status of the containers in this pod.', (o) => (obj(o.metadata)?.deletionTimestamp ? 'Terminating' : (str(obj(o.status)?.phase) ?? ''))),
    col('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.', () => '0'),
    age(),
    col('IP', 'The IP address assigned to the pod', (o) => str(obj(o.status)?.podIP) ?? '<none>', 1),
    col('Node', 'The name of the node where the pod is scheduled', (o) => str(obj(o.spec)?.nodeName) ?? '<none>', 1),
    col('Nominated Node', 'The name of the node where the pod is nominated for scheduling', () => '<none>', 1),
    col('Readiness Gates', 'The readiness gates of the pod', () => '<none>', 1),
  ],
  '/Service': [
    name,
    col('Type', 'The type of the service', (o) => str(obj(o.spec)?.type) ?? ''),
    col('Cluster-IP', 'The cluster IP of the service', (o) => str(obj(o.spec)?.clusterIP) ?? '<none>'),
    col('External-IP', 'The external IP of the service', () => '<none>'),
    col('Port(s)', 'The ports of the service', (o) =>
      (Array.isArray(obj(o.spec)?.ports) ? (obj(o.spec)?.ports as JsonValue[]) : []).map((p) => `${num(obj(p)?.port)}/${str(obj(p)?.protocol) ?? 'TCP'}`).join(',') || '<none>',
    ),
    age(),
    col('Selector', 'The selector of the service', (o) => Object.entries(obj(obj(o.spec)?.selector) ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(',') || '<none>', 1),
  ],
  '/Node': [
    name,
    col('Status', 'The status of the node', (o) => {
      const conds = Array.isArray(obj(o.status)?.conditions) ? (obj(o.status)?.conditions as JsonValue[]) : [];
      const ready = conds.find((c) => obj(c)?.type === 'Ready');
      const base = obj(ready)?.status === 'True' ? 'Ready' : 'NotReady';
      return obj(o.spec)?.unschedulable === true ? `${base},SchedulingDisabled` : base;
    }),
    col('Roles', 'The roles of the node', (o) =>
      Object.keys(obj(obj(o.metadata)?.labels) ?? {})
        .filter((k) => k.startsWith('node-role.kubernetes.io/'))
        .map((k) => k.slice('node-role.kubernetes.io/'.length))
        .join(',') || '<none>',
    ),
    age(),
    col('Version', 'Kubelet Version reported by the node.', (o) => str(getPath(o, ['status', 'nodeInfo', 'kubeletVersion'])) ?? ''),
    col('Internal-IP', 'List of internal IPs of the node.', (o) => {
      const addrs = Array.isArray(obj(o.status)?.addresses) ? (obj(o.status)?.addresses as JsonValue[]) : [];
      return str(obj(addrs.find((a) => obj(a)?.type === 'InternalIP'))?.address) ?? '<none>';
    }, 1),
    col('External-IP', 'List of external IPs of the node.', () => '<none>', 1),
    col('OS-Image', 'OS image reported by the node.', (o) => str(getPath(o, ['status', 'nodeInfo', 'osImage'])) ?? '', 1),
    col('Kernel-Version', 'Kernel version reported by the node.', (o) => str(getPath(o, ['status', 'nodeInfo', 'kernelVersion'])) ?? '', 1),
    col('Container-Runtime', 'Container runtime and version reported by the node.', (o) => str(getPath(o, ['status', 'nodeInfo', 'containerRuntimeVersion'])) ?? '', 1),
  ],
  'apps/Deployment': [
    name,
    col('Ready', 'Number of the pod with ready state', (o) => `${num(obj(o.status)?.readyReplicas)}/${num(obj(o.spec)?.replicas)}`),
    col('Up-to-date', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.', (o) => num(obj(o.status)?.updatedReplicas)),
    col('Available', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.', (o) => num(obj(o.status)?.availableReplicas)),
    age(),
    col('Containers', 'Names of each container in the template.', (o) => containerNames(podSpecOf(o)), 1),
    col('Images', 'Images referenced by each container in the template.', (o) => containerImages(podSpecOf(o)), 1),
    col('Selector', 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.', (o) => selectorString(obj(o.spec)?.selector), 1),
  ],
  'apps/StatefulSet': [
    name,
    col('Ready', 'Number of the pod with ready state', (o) => `${num(obj(o.status)?.readyReplicas)}/${num(obj(o.spec)?.replicas)}`),
    age(),
    col('Containers', 'Names of each container in the template.', (o) => containerNames(podSpecOf(o)), 1),
    col('Images', 'Images referenced by each container in the template.', (o) => containerImages(podSpecOf(o)), 1),
  ],
  'apps/DaemonSet': [
    name,
    col('Desired', 'The desired number of nodes that should be running the daemon pod.', (o) => num(obj(o.status)?.desiredNumberScheduled), 0, 'integer'),
    col('Current', 'The number of nodes that are running at least 1 daemon pod.', (o) => num(obj(o.status)?.currentNumberScheduled), 0, 'integer'),
    col('Ready', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.', (o) => num(obj(o.status)?.numberReady), 0, 'integer'),
    col('Up-to-date', 'The total number of nodes that are running updated daemon pod', (o) => num(obj(o.status)?.updatedNumberScheduled), 0, 'integer'),
    col('Available', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.', (o) => num(obj(o.status)?.numberAvailable), 0, 'integer'),
    col('Node Selector', 'NodeSelector is a selector which must be true for the pod to fit on a node.', (o) =>
      Object.entries(obj(podSpecOf(o)?.nodeSelector) ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(',') || '<none>',
    ),
    age(),
    col('Containers', 'Names of each container in the template.', (o) => containerNames(podSpecOf(o)), 1),
    col('Images', 'Images referenced by each container in the template.', (o) => containerImages(podSpecOf(o)), 1),
    col('Selector', 'A label query over pods that are managed by the daemon set.', (o) => selectorString(obj(o.spec)?.selector), 1),
  ],
  'batch/Job': [
    name,
    col('Completions', 'The desired number of successfully finished pods the job should be run with.', (o) => `${num(obj(o.status)?.succeeded)}/${num(obj(o.spec)?.completions)}`),
    col('Duration', 'Time required to complete the job.', () => ''),
    age(),
    col('Containers', 'Names of each container in the template.', (o) => containerNames(podSpecOf(o)), 1),
    col('Images', 'Images referenced by each container in the template.', (o) => containerImages(podSpecOf(o)), 1),
    col('Selector', 'A label query over pods that should match the pod count.', (o) => selectorString(obj(o.spec)?.selector), 1),
  ],
  'networking.k8s.io/Ingress': [
    name,
    col('Class', 'The name of the IngressClass resource that should be used for ingress class of the ingress.', (o) => str(obj(o.spec)?.ingressClassName) ?? '<none>'),
    col('Hosts', 'Hosts that incoming requests are matched against before the ingress rule', (o) =>
      (Array.isArray(obj(o.spec)?.rules) ? (obj(o.spec)?.rules as JsonValue[]) : []).map((r) => str(obj(r)?.host) ?? '*').join(',') || '*',
    ),
    col('Address', 'Address is a list containing ingress points for the load-balancer', () => ''),
    col('Ports', 'Ports of TLS configurations that open', (o) => (Array.isArray(obj(o.spec)?.tls) && (obj(o.spec)?.tls as JsonValue[]).length > 0 ? '80, 443' : '80')),
    age(),
  ],
  'rbac.authorization.k8s.io/RoleBinding': [
    name,
    col('Role', 'Role', (o) => `${str(obj(o.roleRef)?.kind) ?? ''}/${str(obj(o.roleRef)?.name) ?? ''}`),
    age(),
  ],
  'rbac.authorization.k8s.io/ClusterRoleBinding': [
    name,
    col('Role', 'Role', (o) => `${str(obj(o.roleRef)?.kind) ?? ''}/${str(obj(o.roleRef)?.name) ?? ''}`),
    age(),
  ],
};

function columnsFor(def: ResourceDef): Column[] {
  const cols = COLUMNS[`${def.group}/${def.kind}`];
  if (cols) return cols;
  return def.custom ? [name, age('date')] : [name, createdAt];
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(o: JsonObject, include: IncludeObject): JsonObject | undefined {
  if (include === 'None') return undefined;
  if (include === 'Object') return o;
  return partialMetadata(o);
}

/** An object as meta.k8s.io/v1 PartialObjectMetadata (the `as=PartialObjectMetadata` representation). */
export function partialMetadata(o: JsonObject): JsonObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj(o.metadata) ?? {} };
}

export function toTable(def: ResourceDef, items: JsonObject[], listMeta: JsonObject, include: IncludeObject, withColumns = true): JsonObject {
  const cols = columnsFor(def);
  const now = Date.now();
  const table: JsonObject = { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: listMeta };
  table.columnDefinitions = withColumns
    ? cols.map((c) => ({ name: c.name, type: c.type ?? 'string', format: c.format ?? '', description: c.description, priority: c.priority ?? 0 }))
    : null;
  table.rows = items.map((o) => {
    const row: JsonObject = { cells: cols.map((c) => c.cell(o, now)) };
    const ro = rowObject(o, include);
    if (ro) row.object = ro;
    return row;
  });
  return table;
}
