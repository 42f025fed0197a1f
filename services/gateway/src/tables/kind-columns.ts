import { FEDERATED_KINDS, NAME_COLUMN, REPLICA_SCHEDULING_PREFERENCE, TableColumn, TableObject, ageColumn, ageOf, tableColumn } from '@flotilla/domain';
import { FEDERATED_COLUMNS, RSP_COLUMNS } from '../federation/federated-columns';

const isObject = (v: unknown): v is TableObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const field = (o: TableObject, ...path: string[]): unknown => path.reduce<unknown>((v, k) => (isObject(v) ? v[k] : undefined), o);
const text = (v: unknown, none = '<none>'): string => (typeof v === 'string' && v !== '' ? v : none);

/** Subjects as "User/alice,Group/team-a" (at most five, then a count). */
function subjectsCell(o: TableObject): string {
  const subjects = Array.isArray(o.subjects) ? o.subjects.filter(isObject) : [];
  if (subjects.length === 0) return '<none>';
  const shown = subjects.slice(0, 5).map((s) => `${text(s.kind, '?')}/${text(s.name, '?')}`).join(',');
  return subjects.length > 5 ? `${shown},+${subjects.length - 5}` : shown;
}

/** ClusterAccessBinding's clusters: their names, or the selector's match labels. */
function bindingClustersCell(o: TableObject): string {
  const names = Array.isArray(o.clusters) ? o.clusters.filter((c): c is string => typeof c === 'string') : [];
  const selector = isObject(o.clusterSelector) ? o.clusterSelector : undefined;
  const labels = isObject(selector?.matchLabels) ? Object.entries(selector.matchLabels).map(([k, v]) => `${k}=${String(v)}`) : [];
  const expressions = Array.isArray(selector?.matchExpressions) ? selector.matchExpressions.length : 0;
  const parts = [...names, ...(labels.length > 0 ? [labels.join(',')] : []), ...(expressions > 0 ? [`${expressions} expression(s)`] : [])];
  return parts.length > 0 ? parts.join(',') : '<none>';
}

/** kube's Namespace table (golden 092): NAME STATUS AGE, Age of type string as core kinds have it. */
export const NAMESPACE_COLUMNS: readonly TableColumn[] = [
  NAME_COLUMN,
  tableColumn('Status', 'The status of the namespace', (o) => (field(o, 'metadata', 'deletionTimestamp') ? 'Terminating' : text(field(o, 'status', 'phase'), 'Active'))),
  ageColumn('string'),
];

const USER_COLUMNS: readonly TableColumn[] = [
  NAME_COLUMN,
  tableColumn('Email', 'The user\'s email address', (o) => text(field(o, 'spec', 'email'))),
  tableColumn('State', 'Active or Disabled', (o) => text(field(o, 'status', 'state'), 'Active')),
  ageColumn('date'),
  tableColumn('Display Name', 'The user\'s display name', (o) => text(field(o, 'spec', 'displayName')), { priority: 1 }),
];

const GLOBAL_ROLE_COLUMNS: readonly TableColumn[] = [
  NAME_COLUMN,
  tableColumn('Rules', 'The number of rules of the role', (o) => (Array.isArray(o.rules) ? o.rules.length : 0)),
  ageColumn('date'),
];

const GLOBAL_ROLE_BINDING_COLUMNS: readonly TableColumn[] = [
  NAME_COLUMN,
  tableColumn('Role', 'The GlobalRole bound', (o) => `GlobalRole/${text(field(o, 'roleRef', 'name'), '?')}`),
  tableColumn('Subjects', 'The users, groups and tokens the role is bound to', subjectsCell),
  ageColumn('date'),
];

const CLUSTER_ACCESS_BINDING_COLUMNS: readonly TableColumn[] = [
  NAME_COLUMN,
  tableColumn('Role', 'The member role granted', (o) => text(o.role)),
  tableColumn('Clusters', 'The clusters by name, or the cluster selector', bindingClustersCell),
  tableColumn('Subjects', 'The users, groups and tokens granted the role', subjectsCell),
  ageColumn('date'),
];

const TOKEN_COLUMNS: readonly TableColumn[] = [
  NAME_COLUMN,
  tableColumn('User', 'The user the token authenticates as', (o) => text(field(o, 'spec', 'user'))),
  tableColumn('Expires', 'When the token stops working', (o) => text(field(o, 'spec', 'expirationTimestamp'), '<never>')),
  tableColumn('Last Used', 'How long ago the token was last used', (o, now) => (field(o, 'status', 'lastUsedTime') ? ageOf(field(o, 'status', 'lastUsedTime'), now) : '<never>')),
  ageColumn('date'),
  tableColumn('Description', 'What the token is for', (o) => text(field(o, 'spec', 'description')), { priority: 1 }),
];

const BY_KIND = new Map<string, readonly TableColumn[]>([
  ['/Namespace', NAMESPACE_COLUMNS],
  ['iam.kubesphere.io/User', USER_COLUMNS],
  ['iam.kubesphere.io/GlobalRole', GLOBAL_ROLE_COLUMNS],
  ['iam.kubesphere.io/GlobalRoleBinding', GLOBAL_ROLE_BINDING_COLUMNS],
  ['iam.flotilla.io/ClusterAccessBinding', CLUSTER_ACCESS_BINDING_COLUMNS],
  ['iam.flotilla.io/Token', TOKEN_COLUMNS],
  [`${REPLICA_SCHEDULING_PREFERENCE.group}/${REPLICA_SCHEDULING_PREFERENCE.kind}`, RSP_COLUMNS],
  ...FEDERATED_KINDS.map((k) => [`${k.group}/${k.kind}`, FEDERATED_COLUMNS] as [string, readonly TableColumn[]]),
]);

/** A kind without columns of its own: Name and Age, as kube-apiserver prints a custom resource (golden 095). */
const DEFAULT_COLUMNS: readonly TableColumn[] = [NAME_COLUMN, ageColumn('date')];

/** The Table columns of a kind served by the generic layer. */
export function columnsForKind(kind: { group: string; kind: string }): readonly TableColumn[] {
  return BY_KIND.get(`${kind.group}/${kind.kind}`) ?? DEFAULT_COLUMNS;
}
