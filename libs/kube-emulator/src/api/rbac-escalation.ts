/**
 * RBAC's escalation prevention, as kube-apiserver's policybased storage for Roles, ClusterRoles,
 * RoleBindings and ClusterRoleBindings does it (pkg/registry/rbac): a user may only write a role
 * granting permissions they already hold, unless they have `escalate` on it, and may only bind a
 * role whose permissions they hold, unless they have `bind` on it. `system:masters` may do both.
 * Rule coverage follows pkg/registry/rbac/validation/policy_comparator.go.
 */
import { deepEqual, isObject, type JsonObject, type JsonValue, obj, str } from '@flotilla/apply';
import { forbidden, notFound } from './errors';
import { authorize, userRules, type UserInfo } from './rbac';
import type { ObjectStore } from './store';

const RBAC = 'rbac.authorization.k8s.io';

interface Rule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames: string[];
  nonResourceURLs: string[];
}

const strings = (v: JsonValue | undefined): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

function toRule(r: JsonObject): Rule {
  return { verbs: strings(r.verbs), apiGroups: strings(r.apiGroups), resources: strings(r.resources), resourceNames: strings(r.resourceNames), nonResourceURLs: strings(r.nonResourceURLs) };
}

/** One rule per group × resource × verb (× name), and per URL × verb (BreakdownRule). */
function breakdown(r: Rule): Rule[] {
  const out: Rule[] = [];
  const one = (o: Partial<Rule>): Rule => ({ verbs: [], apiGroups: [], resources: [], resourceNames: [], nonResourceURLs: [], ...o });
  for (const g of r.apiGroups)
    for (const res of r.resources)
      for (const v of r.verbs) {
        if (r.resourceNames.length) for (const n of r.resourceNames) out.push(one({ apiGroups: [g], resources: [res], verbs: [v], resourceNames: [n] }));
        else out.push(one({ apiGroups: [g], resources: [res], verbs: [v] }));
      }
  for (const u of r.nonResourceURLs) for (const v of r.verbs) out.push(one({ nonResourceURLs: [u], verbs: [v] }));
  return out;
}

const hasAll = (set: string[], items: string[]): boolean => items.every((i) => set.includes(i));

function resourcesCover(owner: string[], wanted: string[]): boolean {
  if (owner.includes('*')) return true;
  return wanted.every((r) => owner.includes(r) || (r.includes('/') && owner.includes(`*/${r.split('/').slice(1).join('/')}`)));
}

function urlsCover(owner: string[], wanted: string[]): boolean {
  return wanted.every((w) => owner.some((o) => o === w || (o.endsWith('*') && w.startsWith(o.replace(/\*+$/, '')))));
}

function ruleCovers(owner: Rule, sub: Rule): boolean {
  const verbs = owner.verbs.includes('*') || hasAll(owner.verbs, sub.verbs);
  const groups = owner.apiGroups.includes('*') || hasAll(owner.apiGroups, sub.apiGroups);
  const names = sub.resourceNames.length === 0 ? owner.resourceNames.length === 0 : owner.resourceNames.length === 0 || hasAll(owner.resourceNames, sub.resourceNames);
  return verbs && groups && resourcesCover(owner.resources, sub.resources) && names && urlsCover(owner.nonResourceURLs, sub.nonResourceURLs);
}

/** The parts of `wanted` that no rule of `owner` covers (Covers). */
export function uncoveredRules(owner: JsonObject[], wanted: JsonObject[]): Rule[] {
  const owned = owner.map(toRule);
  return wanted.map(toRule).flatMap(breakdown).filter((sub) => !owned.some((o) => ruleCovers(o, sub)));
}

/** Go's %q of a []string: `["a" "b"]`. */
const goList = (xs: string[]): string => `[${xs.map((x) => JSON.stringify(x)).join(' ')}]`;

/** PolicyRule.CompactString, after CompactRules merged the verbs of simple resource rules. */
function compactStrings(rules: Rule[]): string[] {
  const merged: Rule[] = [];
  const simple = new Map<string, Rule>();
  for (const r of rules) {
    if (r.apiGroups.length === 1 && r.resources.length === 1 && r.resourceNames.length === 0 && r.nonResourceURLs.length === 0) {
      const k = `${r.apiGroups[0]}\0${r.resources[0]}`;
      const seen = simple.get(k);
      if (seen) {
        for (const v of r.verbs) if (!seen.verbs.includes(v)) seen.verbs.push(v);
        continue;
      }
      const copy = { ...r, verbs: [...r.verbs] };
      simple.set(k, copy);
      merged.push(copy);
    } else merged.push(r);
  }
  const text = merged.map((r) => {
    const parts: string[] = [];
    if (r.apiGroups.length) parts.push(`APIGroups:${goList(r.apiGroups)}`);
    if (r.resources.length) parts.push(`Resources:${goList(r.resources)}`);
    if (r.nonResourceURLs.length) parts.push(`NonResourceURLs:${goList(r.nonResourceURLs)}`);
    if (r.resourceNames.length) parts.push(`ResourceNames:${goList(r.resourceNames)}`);
    if (r.verbs.length) parts.push(`Verbs:${goList(r.verbs)}`);
    return `{${parts.join(', ')}}`;
  });
  return [...new Set(text)].sort();
}

/** ConfirmNoEscalation: the message of the 403, or undefined when the user holds every rule. */
export function escalationMessage(store: ObjectStore, user: UserInfo, namespace: string | undefined, rules: JsonObject[]): string | undefined {
  const missing = uncoveredRules(userRules(store, user, namespace), rules);
  if (missing.length === 0) return undefined;
  return `user ${JSON.stringify(user.username)} (groups=${goList(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${compactStrings(missing).join('\n')}`;
}

/** IsOnlyMutatingGCFields: an update touching only ownerReferences and finalizers skips the check. */
function onlyGcFields(next: JsonObject, old: JsonObject): boolean {
  const strip = (o: JsonObject): JsonObject => {
    const m = { ...(obj(o.metadata) ?? {}) };
    for (const k of ['ownerReferences', 'finalizers', 'managedFields', 'resourceVersion', 'generation', 'creationTimestamp', 'uid']) delete m[k];
    return { ...o, metadata: m };
  };
  return deepEqual(strip(next), strip(old));
}

const FULL_AUTHORITY: JsonObject[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
  { verbs: ['*'], nonResourceURLs: ['*'] },
];

export interface EscalationRequest {
  /** roles, clusterroles, rolebindings or clusterrolebindings */
  resource: string;
  namespace: string | undefined;
  /** The name in the request path (empty on create, as requestInfo has it). */
  requestName: string | undefined;
}

/** Whether a write to this resource goes through the escalation check. */
export function isRbacPolicyResource(group: string, resource: string): boolean {
  return group === RBAC && ['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings'].includes(resource);
}

/**
 * Throws the real server's 403 when `user` may not store `next` (refer to `old` on updates).
 * The authorizer is asked for `escalate` on the role and `bind` on a binding's role.
 */
export function checkEscalation(store: ObjectStore, user: UserInfo, req: EscalationRequest, next: JsonObject, old: JsonObject | undefined): void {
  if (user.groups.includes('system:masters')) return;
  if (old && onlyGcFields(next, old)) return;
  const name = str(obj(next.metadata)?.name) ?? '';
  const ns = req.namespace || undefined;
  const refuse = (why: string): never => {
    throw forbidden(req.resource, RBAC, name, why);
  };
  if (req.resource === 'roles' || req.resource === 'clusterroles') {
    const escalate = authorize(store, user, { verb: 'escalate', resourceRequest: true, group: RBAC, resource: req.resource, namespace: ns, name: req.requestName || undefined });
    if (escalate.allowed) return;
    if (req.resource === 'clusterroles' && next.aggregationRule !== undefined && next.aggregationRule !== null) {
      if (escalationMessage(store, user, undefined, FULL_AUTHORITY)) refuse('must have cluster-admin privileges to use the aggregationRule');
    }
    const rules = (Array.isArray(next.rules) ? next.rules : []).filter(isObject);
    const why = escalationMessage(store, user, ns, rules);
    if (why) refuse(why);
    return;
  }
  const ref = obj(next.roleRef) ?? {};
  const kind = str(ref.kind) ?? '';
  const roleName = str(ref.name) ?? '';
  const roleResource = kind === 'ClusterRole' ? 'clusterroles' : 'roles';
  const bind = authorize(store, user, { verb: 'bind', resourceRequest: true, group: str(ref.apiGroup) ?? RBAC, resource: roleResource, namespace: ns, name: roleName });
  if (bind.allowed) return;
  const role = kind === 'ClusterRole' ? store.get(`${RBAC}/clusterroles`, roleName) : store.get(`${RBAC}/roles`, `${ns ?? ''}/${roleName}`);
  if (!role) throw notFound(roleResource, RBAC, roleName);
  const why = escalationMessage(store, user, ns, (Array.isArray(role.rules) ? role.rules : []).filter(isObject));
  if (why) refuse(why);
}
