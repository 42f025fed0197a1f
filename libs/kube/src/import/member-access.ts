import { ErrorReason, FlotillaError, MEMBER_ROLES, type MemberRole, impersonatedRoleGroup, impersonatedUser } from '@flotilla/domain';
import { parseJsonBounded } from '@flotilla/parsing';
import type { MemberClient } from '../member/member-client';
import { memberSaid } from '../net/member-text';
import {
  DEFAULT_ROLE_MAP,
  IMPERSONATION_ROLE_NAME,
  MANAGED_BY,
  MARKER_NAMESPACE,
  MEMBER_ROLE_NAME,
  type MemberAccessChoice,
  type RoleMap,
  SERVICE_ACCOUNT_NAME,
  roleBindingName,
} from './member-role';

/**
 * What the API proxy's impersonation needs in a member (issue 14, ADR 0030), kept in sync by
 * provider-import with Flotilla's own member credential (the service-account path):
 * - ClusterRoleBindings `flotilla:role:<role>` from Group `flotilla:role:<role>` to the member's
 *   `admin`, `edit` and `view` ClusterRoles (or the operator's choice, ROLE_MAP_ANNOTATION);
 * - ClusterRole `flotilla:impersonation`, bound to Flotilla's identity, allowing `impersonate` on
 *   exactly the `flotilla:user:<name>` users bound to the cluster and the three role groups.
 * Everything carries an ownerReference to ClusterRole flotilla:host, so removal (one delete of that
 * role, ADR 0029) takes it away too.
 */
export const IMPERSONATION_ANNOTATION = 'proxy.flotilla.io/impersonation';
export const ROLE_MAP_ANNOTATION = 'proxy.flotilla.io/role-map';
/**
 * Stands in for "no user": RBAC reads an empty resourceNames as ALL names, so an empty user list
 * must never be written as []. `-` is not a user name Flotilla accepts (names are DNS labels), so
 * this grants nothing.
 */
export const NO_USER_PLACEHOLDER = impersonatedUser('-');

const RBAC = 'rbac.authorization.k8s.io';
const RBAC_PATH = `/apis/${RBAC}/v1`;
const annotationField = (a: string) => `metadata.annotations[${a}]`;
const invalid = (annotation: string, message: string, causeReason = 'FieldValueInvalid') =>
  new FlotillaError(ErrorReason.Invalid, `${annotationField(annotation)}: ${message}`, { causes: [{ reason: causeReason, field: annotationField(annotation), message }] });

/** Whether the proxy impersonates (and the sync runs) for a cluster: "on" (the default) or "off". Invalid otherwise. */
export function impersonationEnabled(annotations: Record<string, string> | undefined): boolean {
  const raw = (annotations ?? {})[IMPERSONATION_ANNOTATION];
  if (raw === undefined || raw === '' || raw === 'on') return true;
  if (raw === 'off') return false;
  throw invalid(IMPERSONATION_ANNOTATION, `"${raw.slice(0, 32)}" is not supported: use "on" (the default) or "off" (docs/proxy.md)`, 'FieldValueNotSupported');
}

const CLUSTER_ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,252}$/;

/**
 * The member ClusterRole each Flotilla role is bound to: DEFAULT_ROLE_MAP, overridden per role by
 * ROLE_MAP_ANNOTATION (`{"cluster-admin":"cluster-admin","cluster-viewer":"view"}`). Refuses, as
 * Invalid naming the annotation, unknown keys and names that are not ClusterRole names, or that
 * name a `system:` role or Flotilla's own roles (binding users to those is not a role choice).
 */
export function roleMapOf(annotations: Record<string, string> | undefined): RoleMap {
  const raw = (annotations ?? {})[ROLE_MAP_ANNOTATION];
  if (raw === undefined || raw.trim() === '') return { ...DEFAULT_ROLE_MAP };
  let parsed: unknown;
  try {
    parsed = parseJsonBounded(raw, 'the role map', { maxBytes: 4096, maxDepth: 2 });
  } catch (error) {
    throw invalid(ROLE_MAP_ANNOTATION, `${(error as Error).message}; write a JSON object such as {"cluster-admin":"admin","cluster-editor":"edit","cluster-viewer":"view"}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalid(ROLE_MAP_ANNOTATION, 'must be a JSON object from Flotilla roles to member ClusterRole names');
  const out: RoleMap = { ...DEFAULT_ROLE_MAP };
  for (const [key, value] of Object.entries(parsed)) {
    if (!(MEMBER_ROLES as readonly string[]).includes(key)) throw invalid(ROLE_MAP_ANNOTATION, `"${key.slice(0, 32)}" is not a Flotilla role: use ${MEMBER_ROLES.map((r) => `"${r}"`).join(', ')}`, 'FieldValueNotSupported');
    if (typeof value !== 'string' || !CLUSTER_ROLE_NAME.test(value)) throw invalid(ROLE_MAP_ANNOTATION, `"${key}" must map to a ClusterRole name (letters, digits, ":", ".", "_", "-")`);
    if (value.startsWith('system:') || value.startsWith('flotilla:')) throw invalid(ROLE_MAP_ANNOTATION, `"${key}" may not map to "${value}": system: roles and Flotilla's own roles cannot be given to users`, 'FieldValueForbidden');
    out[key as MemberRole] = value;
  }
  return out;
}

/**
 * The cluster's impersonation choices (both annotations validated): what the member role is
 * written with at import and rotation, and what the sync applies. Throws Invalid naming the annotation.
 */
export function memberAccessChoice(annotations: Record<string, string> | undefined): MemberAccessChoice {
  return { impersonation: impersonationEnabled(annotations), roleMap: roleMapOf(annotations) };
}

/**
 * The rules of ClusterRole flotilla:impersonation for these Flotilla user names (not yet
 * prefixed): exactly those users, sorted, and the three role groups. Never an empty resourceNames.
 */
export function impersonationRules(users: Iterable<string>): Record<string, unknown>[] {
  const names = [...new Set([...users].map(impersonatedUser))].sort();
  return [
    { apiGroups: [''], resources: ['users'], resourceNames: names.length > 0 ? names : [NO_USER_PLACEHOLDER], verbs: ['impersonate'] },
    { apiGroups: [''], resources: ['groups'], resourceNames: MEMBER_ROLES.map(impersonatedRoleGroup), verbs: ['impersonate'] },
  ];
}

export interface DesiredMemberAccess {
  /** Flotilla user names (`alice`, `oidc:bob`) the proxy may impersonate in this member. */
  users: Iterable<string>;
  roleMap?: RoleMap;
}

type Json = Record<string, unknown>;
interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}
const meta = (name: string, owner: OwnerRef) => ({ name, labels: { ...MANAGED_BY }, ownerReferences: [owner] });
const flotillaIdentity = { kind: 'ServiceAccount', name: SERVICE_ACCOUNT_NAME, namespace: MARKER_NAMESPACE };
const binding = (name: string, roleName: string, subject: Json, owner: OwnerRef): Json => ({
  apiVersion: `${RBAC}/v1`,
  kind: 'ClusterRoleBinding',
  metadata: meta(name, owner),
  roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: roleName },
  subjects: [subject],
});

/** A member answered 403: Flotilla's member role predates ADR 0030 (or was narrowed by hand). */
export class MemberAccessRefusedError extends Error {
  constructor(readonly what: string, memberMessage: string) {
    super(
      `the member refused ${what} (403: ${memberMessage}): Flotilla's member role (ClusterRole ${MEMBER_ROLE_NAME}) predates impersonation sync; ` +
        'rotate the credentials (PUT .../clusters/{name}/kubeconfig with a kubeconfig allowed to manage RBAC) so the member role is upgraded, ' +
        `or set annotation ${IMPERSONATION_ANNOTATION}=off`,
    );
    this.name = 'MemberAccessRefusedError';
  }
}

/** A member object of that name exists but is not Flotilla's: never taken over. */
export class MemberAccessConflictError extends Error {
  constructor(what: string) {
    super(`${what} exists in the member but is not Flotilla's (no app.kubernetes.io/managed-by=flotilla label): rename or remove it, or set annotation ${IMPERSONATION_ANNOTATION}=off`);
    this.name = 'MemberAccessConflictError';
  }
}

export interface MemberAccessResult {
  /** What was written (`ClusterRole flotilla:impersonation`, ...); empty when the member already matched. */
  written: string[];
}

/**
 * Brings the member to `desired` with Flotilla's own member credential: reads each object and
 * writes only what differs (no write at all when the member matches). Throws
 * MemberAccessRefusedError on a 403, MemberAccessConflictError for a same-named object that is not
 * Flotilla's, MemberUnavailableError when the member does not answer, Error otherwise.
 */
export async function syncMemberAccess(client: MemberClient, desired: DesiredMemberAccess): Promise<MemberAccessResult> {
  const io = new RbacIo(client);
  const map = desired.roleMap ?? DEFAULT_ROLE_MAP;
  const ownerRole = await io.get('clusterroles', MEMBER_ROLE_NAME);
  const uid = (ownerRole?.metadata as { uid?: unknown } | undefined)?.uid;
  if (typeof uid !== 'string') throw new Error(`ClusterRole ${MEMBER_ROLE_NAME} is missing in the member: import the cluster again (or rotate its credentials) so Flotilla's identity exists`);
  const owner: OwnerRef = { apiVersion: `${RBAC}/v1`, kind: 'ClusterRole', name: MEMBER_ROLE_NAME, uid };

  for (const role of MEMBER_ROLES) {
    await io.ensureBinding(binding(roleBindingName(role), map[role], { apiGroup: RBAC, kind: 'Group', name: impersonatedRoleGroup(role) }, owner));
  }
  await io.ensureImpersonation(impersonationRules(desired.users), owner);
  return { written: io.written };
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const labelled = (o: Json) => (o.metadata as { labels?: Record<string, string> } | undefined)?.labels?.['app.kubernetes.io/managed-by'] === 'flotilla';
const owned = (o: Json, owner: OwnerRef) => ((o.metadata as { ownerReferences?: { uid?: string }[] } | undefined)?.ownerReferences ?? []).some((r) => r.uid === owner.uid);
const normalRules = (rules: unknown): unknown =>
  (Array.isArray(rules) ? rules : []).map((r: Json) => ({ apiGroups: r.apiGroups ?? [], resources: r.resources ?? [], resourceNames: r.resourceNames ?? [], verbs: r.verbs ?? [] }));
const normalSubjects = (s: unknown): unknown => (Array.isArray(s) ? s : []).map((x: Json) => ({ kind: x.kind, name: x.name, namespace: x.namespace ?? '' }));

/** The reads and writes of the sync, each checked, with what was written recorded. */
class RbacIo {
  readonly written: string[] = [];
  constructor(private readonly client: MemberClient) {}

  async get(resource: 'clusterroles' | 'clusterrolebindings', name: string): Promise<Json | undefined> {
    const r = await this.client.request('GET', `${RBAC_PATH}/${resource}/${name}`);
    if (r.status === 404) return undefined;
    this.check(r, `get ${resource} ${name}`);
    return r.body;
  }

  private async write(method: 'POST' | 'PUT' | 'DELETE', resource: 'clusterroles' | 'clusterrolebindings', name: string, body?: Json): Promise<Json> {
    const path = method === 'POST' ? `${RBAC_PATH}/${resource}` : `${RBAC_PATH}/${resource}/${name}`;
    const r = await this.client.request(method, path, body);
    if (!(method === 'DELETE' && r.status === 404)) this.check(r, `${method === 'POST' ? 'create' : method === 'PUT' ? 'update' : 'delete'} ${resource} ${name}`);
    this.written.push(`${method === 'DELETE' ? 'deleted ' : ''}${resource === 'clusterroles' ? 'ClusterRole' : 'ClusterRoleBinding'} ${name}`);
    return r.body;
  }

  private check(r: { status: number; body: Json }, what: string): void {
    if (r.status >= 200 && r.status < 300) return;
    const said = memberSaid(r.body.message);
    if (r.status === 403) throw new MemberAccessRefusedError(what, said);
    throw new Error(`${what} in the member failed: ${r.status}; ${said}`);
  }

  /** A binding as desired: created, updated (subjects, labels, owner), or replaced when its roleRef (immutable) differs. */
  async ensureBinding(want: Json): Promise<void> {
    const name = (want.metadata as { name: string }).name;
    const got = await this.get('clusterrolebindings', name);
    if (got && !labelled(got)) throw new MemberAccessConflictError(`ClusterRoleBinding ${name}`);
    if (got && !sameJson(got.roleRef, want.roleRef)) {
      await this.write('DELETE', 'clusterrolebindings', name);
    } else if (got) {
      const owner = (want.metadata as { ownerReferences: OwnerRef[] }).ownerReferences[0]!;
      if (sameJson(normalSubjects(got.subjects), normalSubjects(want.subjects)) && owned(got, owner)) return;
      await this.write('PUT', 'clusterrolebindings', name, { ...want, metadata: { ...(want.metadata as Json), resourceVersion: (got.metadata as Json).resourceVersion } });
      return;
    }
    await this.write('POST', 'clusterrolebindings', name, want);
  }

  /**
   * ClusterRole flotilla:impersonation with `rules`, bound to Flotilla's identity. Writing rules
   * that grant impersonation Flotilla does not yet hold needs `escalate` on this role (by name):
   * kube-apiserver refuses such a write otherwise. `create` carries no name for that check, so the
   * role is created empty (no escalation) and filled by an update; a missing binding is created
   * while the role is empty, because binding a role needs `bind` on it or holding all its rules.
   */
  async ensureImpersonation(rules: Json[], owner: OwnerRef): Promise<void> {
    const name = IMPERSONATION_ROLE_NAME;
    let role = await this.get('clusterroles', name);
    if (role && !labelled(role)) throw new MemberAccessConflictError(`ClusterRole ${name}`);
    const roleBody = (r: Json[], current?: Json): Json => ({
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRole',
      metadata: { ...meta(name, owner), ...(current ? { resourceVersion: (current.metadata as Json).resourceVersion } : {}) },
      rules: r,
    });
    if (!role) role = await this.write('POST', 'clusterroles', name, roleBody([]));
    const bound = await this.get('clusterrolebindings', name);
    if (bound && !labelled(bound)) throw new MemberAccessConflictError(`ClusterRoleBinding ${name}`);
    const want = binding(name, name, flotillaIdentity, owner);
    if (!bound || !sameJson(bound.roleRef, want.roleRef)) {
      if ((role.rules as unknown[] | undefined)?.length) role = await this.write('PUT', 'clusterroles', name, roleBody([], role));
      if (bound) await this.write('DELETE', 'clusterrolebindings', name);
      await this.write('POST', 'clusterrolebindings', name, want);
    } else if (!sameJson(normalSubjects(bound.subjects), normalSubjects(want.subjects)) || !owned(bound, owner)) {
      if ((role.rules as unknown[] | undefined)?.length) role = await this.write('PUT', 'clusterroles', name, roleBody([], role));
      await this.write('PUT', 'clusterrolebindings', name, { ...want, metadata: { ...(want.metadata as Json), resourceVersion: (bound.metadata as Json).resourceVersion } });
    }
    if (sameJson(normalRules(role.rules), normalRules(rules)) && owned(role, owner)) return;
    await this.write('PUT', 'clusterroles', name, roleBody(rules, role));
  }
}
