/** RBAC authorization over the Roles and Bindings in a cluster's store, plus bootstrap policy. */
import { isObject, type JsonObject, type JsonValue, obj, str } from '@flotilla/apply';
import type { ObjectStore } from './store';

export interface UserInfo {
  username: string;
  groups: string[];
  uid?: string;
}

export interface Attributes {
  verb: string;
  /** resource requests */
  resourceRequest: boolean;
  group?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** non-resource requests */
  path?: string;
}

export interface Decision {
  allowed: boolean;
  reason?: string;
}

const RBAC = 'rbac.authorization.k8s.io';

function ruleMatches(rule: JsonObject, a: Attributes): boolean {
  const verbs = arr(rule.verbs);
  if (!verbs.includes('*') && !verbs.includes(a.verb)) return false;
  if (!a.resourceRequest) {
    const urls = arr(rule.nonResourceURLs);
    return urls.some((u) => u === '*' || u === a.path || (u.endsWith('*') && (a.path ?? '').startsWith(u.slice(0, -1))));
  }
  if (rule.nonResourceURLs !== undefined && rule.resources === undefined) return false;
  const groups = arr(rule.apiGroups);
  if (!groups.includes('*') && !groups.includes(a.group ?? '')) return false;
  const resources = arr(rule.resources);
  const full = a.subresource ? `${a.resource}/${a.subresource}` : (a.resource ?? '');
  const resOk = resources.some((r) => r === '*' || r === full || (a.subresource !== undefined && r === `*/${a.subresource}`));
  if (!resOk) return false;
  const names = arr(rule.resourceNames);
  if (names.length > 0) return a.name !== undefined && a.name !== '' && names.includes(a.name);
  return true;
}

function arr(v: JsonValue | undefined): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

interface SubjectMatch {
  label: string;
}

function subjectMatch(binding: JsonObject, user: UserInfo, bindingNamespace: string | undefined): SubjectMatch | undefined {
  const subjects = binding.subjects;
  if (!Array.isArray(subjects)) return undefined;
  for (const s of subjects) {
    if (!isObject(s)) continue;
    const name = str(s.name) ?? '';
    switch (s.kind) {
      case 'User':
        if (name === user.username) return { label: `User ${JSON.stringify(name)}` };
        break;
      case 'Group':
        if (user.groups.includes(name)) return { label: `Group ${JSON.stringify(name)}` };
        break;
      case 'ServiceAccount': {
        const ns = str(s.namespace) ?? bindingNamespace ?? '';
        if (user.username === `system:serviceaccount:${ns}:${name}`) return { label: `ServiceAccount "${name}/${ns}"` };
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}

interface BoundRules {
  rules: JsonObject[];
  describe: string;
}

function bindingOrder(name: string): number {
  const i = BOOTSTRAP_BINDINGS.findIndex(([n]) => n === name);
  return i >= 0 ? i : BOOTSTRAP_BINDINGS.length;
}

function* applicableRules(store: ObjectStore, user: UserInfo, namespace: string | undefined): Generator<BoundRules> {
  const crbs = store.list(`${RBAC}/clusterrolebindings`).sort(([a], [b]) => bindingOrder(a) - bindingOrder(b));
  for (const [, crb] of crbs) {
    const m = subjectMatch(crb, user, undefined);
    if (!m) continue;
    const ref = obj(crb.roleRef);
    const roleName = str(ref?.name) ?? '';
    const role = store.get(`${RBAC}/clusterroles`, roleName);
    if (!role) continue;
    yield {
      rules: (Array.isArray(role.rules) ? role.rules : []).filter(isObject),
      describe: `ClusterRoleBinding ${JSON.stringify(str(obj(crb.metadata)?.name))} of ClusterRole ${JSON.stringify(roleName)} to ${m.label}`,
    };
  }
  if (!namespace) return;
  for (const [, rb] of store.list(`${RBAC}/rolebindings`, namespace)) {
    const m = subjectMatch(rb, user, namespace);
    if (!m) continue;
    const ref = obj(rb.roleRef);
    const roleName = str(ref?.name) ?? '';
    const kind = str(ref?.kind) ?? 'Role';
    const role = kind === 'ClusterRole' ? store.get(`${RBAC}/clusterroles`, roleName) : store.get(`${RBAC}/roles`, `${namespace}/${roleName}`);
    if (!role) continue;
    yield {
      rules: (Array.isArray(role.rules) ? role.rules : []).filter(isObject),
      describe: `RoleBinding "${str(obj(rb.metadata)?.name)}/${namespace}" of ${kind} ${JSON.stringify(roleName)} to ${m.label}`,
    };
  }
}

export function authorize(store: ObjectStore | undefined, user: UserInfo, a: Attributes): Decision {
  if (user.groups.includes('system:masters')) return { allowed: true };
  if (!store) return bootstrapOnly(user, a);
  for (const b of applicableRules(store, user, a.namespace)) {
    if (b.rules.some((r) => ruleMatches(r, a))) return { allowed: true, reason: `RBAC: allowed by ${b.describe}` };
  }
  return { allowed: false };
}

/** Before a cluster's store exists only bootstrap policy applies (the bindings are seeded with it). */
function bootstrapOnly(user: UserInfo, a: Attributes): Decision {
  for (const [role, groups] of BOOTSTRAP_BINDINGS) {
    if (!groups.some((g) => user.groups.includes(g))) continue;
    const rules = BOOTSTRAP_ROLES[role] ?? [];
    if (rules.some((r) => ruleMatches(r, a))) return { allowed: true };
  }
  return { allowed: false };
}

/** Every rule the user holds in a namespace ('' or undefined: cluster-wide bindings only), as the rule resolver sees them. */
export function userRules(store: ObjectStore, user: UserInfo, namespace: string | undefined): JsonObject[] {
  return [...applicableRules(store, user, namespace || undefined)].flatMap((b) => b.rules);
}

export function rulesFor(store: ObjectStore, user: UserInfo, namespace: string): { resourceRules: JsonObject[]; nonResourceRules: JsonObject[] } {
  if (user.groups.includes('system:masters')) {
    return {
      resourceRules: [
        { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] },
        { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
      ],
      nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
    };
  }
  const resourceRules: JsonObject[] = [];
  const nonResourceRules: JsonObject[] = [];
  for (const b of applicableRules(store, user, namespace)) {
    for (const r of b.rules) {
      if (r.nonResourceURLs !== undefined) nonResourceRules.push({ verbs: r.verbs ?? [], nonResourceURLs: r.nonResourceURLs });
      else {
        const rr: JsonObject = { verbs: r.verbs ?? [], apiGroups: r.apiGroups ?? [], resources: r.resources ?? [] };
        if (r.resourceNames !== undefined) rr.resourceNames = r.resourceNames;
        resourceRules.push(rr);
      }
    }
  }
  return { resourceRules, nonResourceRules };
}

export function forbiddenReason(user: UserInfo, a: Attributes): string {
  if (!a.resourceRequest) return `User ${JSON.stringify(user.username)} cannot ${a.verb} path ${JSON.stringify(a.path)}`;
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace ${JSON.stringify(a.namespace)}` : 'at the cluster scope';
  return `User ${JSON.stringify(user.username)} cannot ${a.verb} resource ${JSON.stringify(res)} in API group ${JSON.stringify(a.group ?? '')} ${scope}`;
}

// ---- bootstrap policy (a subset of what kube-apiserver creates at start) -----------------------------
const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];

const VIEW_RULES: JsonObject[] = [
  {
    verbs: READ,
    apiGroups: [''],
    resources: [
      'configmaps', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'pods', 'replicationcontrollers', 'replicationcontrollers/scale',
      'serviceaccounts', 'services', 'services/status', 'bindings', 'events', 'limitranges', 'namespaces/status', 'pods/log', 'pods/status',
      'replicationcontrollers/status', 'resourcequotas', 'resourcequotas/status', 'namespaces',
    ],
  },
  {
    verbs: READ,
    apiGroups: ['apps'],
    resources: ['controllerrevisions', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'statefulsets', 'statefulsets/scale', 'statefulsets/status'],
  },
  { verbs: READ, apiGroups: ['batch'], resources: ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status'] },
  { verbs: READ, apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'ingresses/status', 'networkpolicies'] },
  { verbs: READ, apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers', 'horizontalpodautoscalers/status'] },
  { verbs: READ, apiGroups: ['policy'], resources: ['poddisruptionbudgets', 'poddisruptionbudgets/status'] },
];

export const BOOTSTRAP_ROLES: Record<string, JsonObject[]> = {
  'cluster-admin': [
    { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
    { verbs: ['*'], nonResourceURLs: ['*'] },
  ],
  admin: [{ verbs: [...READ, ...WRITE], apiGroups: ['', 'apps', 'batch', 'networking.k8s.io', 'rbac.authorization.k8s.io', 'autoscaling', 'policy'], resources: ['*'] }],
  // edit and view as kube-apiserver aggregates them (system:aggregate-to-edit/-view), for the core,
  // apps, batch, networking, autoscaling and policy groups: edit holds every rule of view, the
  // streaming subresources (exec, attach, portforward; kubectl exec by WebSocket is a `get`) and
  // secrets; view reads pods/log and status but no secrets.
  edit: [
    ...VIEW_RULES,
    { verbs: READ, apiGroups: [''], resources: ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy'] },
    { verbs: WRITE, apiGroups: [''], resources: ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'configmaps', 'events', 'persistentvolumeclaims', 'replicationcontrollers', 'replicationcontrollers/scale', 'secrets', 'serviceaccounts', 'services', 'services/proxy'] },
    { verbs: ['create'], apiGroups: [''], resources: ['pods/eviction', 'serviceaccounts/token'] },
    { verbs: WRITE, apiGroups: ['apps'], resources: ['daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale'] },
    { verbs: WRITE, apiGroups: ['batch'], resources: ['cronjobs', 'jobs'] },
    { verbs: WRITE, apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'networkpolicies'] },
    { verbs: WRITE, apiGroups: ['autoscaling'], resources: ['horizontalpodautoscalers'] },
    { verbs: WRITE, apiGroups: ['policy'], resources: ['poddisruptionbudgets'] },
  ],
  view: VIEW_RULES,
  'system:basic-user': [{ verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] }],
  'system:public-info-viewer': [{ verbs: ['get'], nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'] }],
  'system:discovery': [{ verbs: ['get'], nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'] }],
  'system:openid-discovery': [{ verbs: ['get'], nonResourceURLs: ['/.well-known', '/.well-known/*'] }],
  'system:service-account-issuer-discovery': [{ verbs: ['get'], nonResourceURLs: ['/.well-known/openid-configuration', '/openid/v1/jwks'] }],
  'flotilla:readonly': [
    { verbs: READ, apiGroups: ['*'], resources: ['*'] },
    { verbs: ['get'], nonResourceURLs: ['*'] },
  ],
};

/** ClusterRoleBinding name (= role name) → groups or users bound. */
export const BOOTSTRAP_BINDINGS: Array<[string, string[]]> = [
  ['system:basic-user', ['system:authenticated']],
  ['system:public-info-viewer', ['system:authenticated', 'system:unauthenticated']],
  ['system:discovery', ['system:authenticated']],
  ['system:openid-discovery', ['system:authenticated']],
  ['system:service-account-issuer-discovery', ['system:serviceaccounts']],
  ['cluster-admin', ['system:masters']],
];

export const READONLY_USER = 'flotilla-readonly';
export const NOACCESS_USER = 'flotilla-noaccess';

export function bootstrapRbacObjects(): Array<{ resource: string; object: JsonObject }> {
  const out: Array<{ resource: string; object: JsonObject }> = [];
  const bootstrapLabels = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
  for (const [name, rules] of Object.entries(BOOTSTRAP_ROLES)) {
    out.push({
      resource: 'clusterroles',
      object: {
        apiVersion: `${RBAC}/v1`,
        kind: 'ClusterRole',
        metadata: { name, labels: name.startsWith('flotilla') ? {} : bootstrapLabels, annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' } },
        rules,
      },
    });
  }
  const binding = (name: string, subjects: JsonObject[]): { resource: string; object: JsonObject } => ({
    resource: 'clusterrolebindings',
    object: {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRoleBinding',
      metadata: { name, labels: name.startsWith('flotilla') ? {} : bootstrapLabels, annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' } },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name },
      subjects,
    },
  });
  for (const [name, groups] of BOOTSTRAP_BINDINGS) out.push(binding(name, groups.map((g) => ({ apiGroup: RBAC, kind: 'Group', name: g }))));
  out.push(binding('flotilla:readonly', [{ apiGroup: RBAC, kind: 'User', name: READONLY_USER }]));
  return out;
}
