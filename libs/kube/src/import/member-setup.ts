import type { ResolvedKubeconfig } from '../kubeconfig/kubeconfig';
import { MemberUnavailableError, type MemberClient } from '../member/member-client';
import { cleanText, memberSaid } from '../net/member-text';
import { MARKER_NAME, MARKER_NAMESPACE } from './import-checks';
import {
  CLUSTER_ADMIN_BINDING_NAME,
  LEGACY_TOKEN_SECRET_NAME,
  MANAGED_BY,
  IMPERSONATION_ROLE_NAME,
  MEMBER_ROLE_NAME,
  type MemberAccessChoice,
  type MemberRoleChoice,
  ROLE_BINDING_NAMES,
  SERVICE_ACCOUNT_NAME,
  clusterRoleBinding,
  memberClusterRole,
  memberNamespaceRole,
  memberRoleBinding,
} from './member-role';
import { DEFAULT_TOKEN_TTL_SECONDS, type MintedToken, requestServiceAccountToken, serviceAccountKubeconfig } from './service-account-token';

/** Kept for callers of the names before ADR 0029. */
export const TOKEN_SECRET_NAME = LEGACY_TOKEN_SECRET_NAME;
export const CLUSTER_ROLE_BINDING_NAME = CLUSTER_ADMIN_BINDING_NAME;

/** One object Flotilla created in a member, as the marker records it. */
export interface MemberObject {
  kind: 'Namespace' | 'ConfigMap' | 'ServiceAccount' | 'ClusterRole' | 'ClusterRoleBinding' | 'Role' | 'RoleBinding' | 'Secret';
  namespace?: string;
  name: string;
}

export interface MarkerData {
  hostId: string;
  clusterName: string;
  clusterUid: string;
  /** On the service-account path: ClusterRole flotilla:host, whose deletion removes the marker too. */
  owner?: OwnerReference;
  /** What Flotilla created in the member besides the marker; merged with what the marker already lists. */
  objects?: readonly MemberObject[];
}

const RBAC = '/apis/rbac.authorization.k8s.io/v1';
const PATHS: Record<MemberObject['kind'], (o: MemberObject) => string> = {
  Namespace: (o) => `/api/v1/namespaces/${o.name}`,
  ConfigMap: (o) => `/api/v1/namespaces/${o.namespace}/configmaps/${o.name}`,
  ServiceAccount: (o) => `/api/v1/namespaces/${o.namespace}/serviceaccounts/${o.name}`,
  Secret: (o) => `/api/v1/namespaces/${o.namespace}/secrets/${o.name}`,
  ClusterRole: (o) => `${RBAC}/clusterroles/${o.name}`,
  ClusterRoleBinding: (o) => `${RBAC}/clusterrolebindings/${o.name}`,
  Role: (o) => `${RBAC}/namespaces/${o.namespace}/roles/${o.name}`,
  RoleBinding: (o) => `${RBAC}/namespaces/${o.namespace}/rolebindings/${o.name}`,
};
const COLLECTIONS: Record<MemberObject['kind'], (o: MemberObject) => string> = {
  Namespace: () => '/api/v1/namespaces',
  ConfigMap: (o) => `/api/v1/namespaces/${o.namespace}/configmaps`,
  ServiceAccount: (o) => `/api/v1/namespaces/${o.namespace}/serviceaccounts`,
  Secret: (o) => `/api/v1/namespaces/${o.namespace}/secrets`,
  ClusterRole: () => `${RBAC}/clusterroles`,
  ClusterRoleBinding: () => `${RBAC}/clusterrolebindings`,
  Role: (o) => `${RBAC}/namespaces/${o.namespace}/roles`,
  RoleBinding: (o) => `${RBAC}/namespaces/${o.namespace}/rolebindings`,
};

export const objectPath = (o: MemberObject): string => PATHS[o.kind](o);
export const describeObject = (o: MemberObject): string => `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;

/** The marker's record of an object: "Kind name" or "Kind namespace/name". */
const formatObject = (o: MemberObject) => describeObject(o);
function parseObjects(text: unknown): MemberObject[] | undefined {
  if (typeof text !== 'string') return undefined;
  const out: MemberObject[] = [];
  for (const line of text.split('\n')) {
    const m = /^(Namespace|ConfigMap|ServiceAccount|ClusterRole|ClusterRoleBinding|Role|RoleBinding|Secret) (?:([a-z0-9-]{1,63})\/)?([a-z0-9:.-]{1,253})$/.exec(line.trim());
    if (m) out.push({ kind: m[1] as MemberObject['kind'], ...(m[2] ? { namespace: m[2] } : {}), name: m[3] });
  }
  return out;
}
const sameObject = (a: MemberObject, b: MemberObject) => a.kind === b.kind && a.name === b.name && (a.namespace ?? '') === (b.namespace ?? '');

const ok = (status: number) => status >= 200 && status < 300;
const ours = (body: unknown) => (body as { metadata?: { labels?: Record<string, string> } }).metadata?.labels?.['app.kubernetes.io/managed-by'] === 'flotilla';

/**
 * Creates `object` unless it exists. Returns whether it is Flotilla's: created now, or found
 * carrying Flotilla's managed-by label (a re-import, or a retry after a crash).
 */
async function ensure(client: MemberClient, target: MemberObject, object: Record<string, unknown>, refresh = false, owner?: OwnerReference): Promise<boolean> {
  const withOwner = owner ? { ...object, metadata: { ...(object.metadata as object), ownerReferences: [owner] } } : object;
  const r = await client.request('POST', COLLECTIONS[target.kind](target), withOwner);
  if (ok(r.status)) return true;
  if (r.status !== 409) throw new Error(`creating ${describeObject(target)} in the member failed: ${r.status}; ${memberSaid((r.body as { message?: unknown }).message)}`);
  const got = await client.request('GET', objectPath(target));
  if (!ours(got.body)) return false;
  if (owner) await adopt(client, target, got.body, owner);
  if (refresh) {
    // Bring Flotilla's own role up to date (its rules change with Flotilla's needs).
    const put = await client.request('PUT', objectPath(target), { ...object, metadata: { ...(object.metadata as object), resourceVersion: (got.body as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion } });
    if (!ok(put.status)) throw new Error(`refreshing ${describeObject(target)} in the member failed: ${put.status}; ${memberSaid((put.body as { message?: unknown }).message)}`);
  }
  return true;
}

/**
 * The reference that makes an object a dependent of ClusterRole flotilla:host: deleting that one
 * role then removes, by the member's garbage collector, everything Flotilla's identity holds
 * (a credential cannot delete its own bindings one by one: the first deletion takes its rights).
 */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

/** Adds `owner` to the ownerReferences of an object of Flotilla's that lacks it. */
async function adopt(client: MemberClient, target: MemberObject, current: unknown, owner: OwnerReference): Promise<void> {
  const refs = (current as { metadata?: { ownerReferences?: { uid?: string }[] } }).metadata?.ownerReferences ?? [];
  if (refs.some((r) => r.uid === owner.uid)) return;
  const r = await client.request('PATCH', objectPath(target), { metadata: { ownerReferences: [...refs, owner] } }, { 'Content-Type': 'application/merge-patch+json' });
  if (!ok(r.status)) throw new Error(`marking ${describeObject(target)} as Flotilla's failed: ${r.status}; ${memberSaid((r.body as { message?: unknown }).message)}`);
}

/** Makes sure namespace flotilla-system exists and is not terminating; returns whether it is Flotilla's. */
async function ensureNamespace(client: MemberClient, deadline: number, owner?: OwnerReference): Promise<boolean> {
  // On a fresh member (the common case) one request creates it. 409: it exists; 403: Flotilla's
  // own minimal role may not create namespaces, but it may exist: read it either way.
  const created = await client.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: MARKER_NAMESPACE, labels: MANAGED_BY, ...(owner ? { ownerReferences: [owner] } : {}) } });
  if (ok(created.status)) return ours(created.body);
  if (created.status !== 409 && created.status !== 403) throw new Error(`creating namespace ${MARKER_NAMESPACE} in the member failed: ${created.status}; ${memberSaid((created.body as { message?: unknown }).message)}`);
  for (;;) {
    const got = await client.request('GET', `/api/v1/namespaces/${MARKER_NAMESPACE}`);
    const phase = (got.body as { status?: { phase?: string } }).status?.phase;
    if (got.status === 200 && phase !== 'Terminating') {
      if (owner && ours(got.body)) await adopt(client, NAMESPACE, got.body, owner);
      return ours(got.body);
    }
    if (got.status === 404) {
      const r = await client.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: MARKER_NAMESPACE, labels: MANAGED_BY, ...(owner ? { ownerReferences: [owner] } : {}) } });
      if (!ok(r.status) && r.status !== 409) throw new Error(`creating namespace ${MARKER_NAMESPACE} in the member failed: ${r.status}; ${memberSaid((r.body as { message?: unknown }).message)}`);
      continue;
    }
    if (Date.now() > deadline) throw new Error(`namespace ${MARKER_NAMESPACE} in the member stays ${typeof phase === 'string' ? `in phase ${cleanText(phase, 32)}` : `at ${got.status}`}; retry later`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const NAMESPACE: MemberObject = { kind: 'Namespace', name: MARKER_NAMESPACE };
const MARKER: MemberObject = { kind: 'ConfigMap', namespace: MARKER_NAMESPACE, name: MARKER_NAME };

/**
 * Writes (or refreshes) the marker ConfigMap flotilla-system/flotilla-host, recording in it what
 * Flotilla created in the member (removal deletes only that). Idempotent.
 */
export async function writeMarker(client: MemberClient, data: MarkerData, timeoutMs = 10_000): Promise<void> {
  const namespaceOurs = await ensureNamespace(client, Date.now() + timeoutMs);
  const path = `/api/v1/namespaces/${MARKER_NAMESPACE}/configmaps`;
  const body = (previous: MemberObject[]) => {
    const objects: MemberObject[] = [];
    for (const o of [...(namespaceOurs ? [NAMESPACE] : []), ...previous, ...(data.objects ?? [])]) if (!sameObject(o, MARKER) && !objects.some((x) => sameObject(x, o))) objects.push(o);
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: MARKER_NAME, namespace: MARKER_NAMESPACE, labels: MANAGED_BY, ...(data.owner ? { ownerReferences: [data.owner] } : {}) },
      data: { hostId: data.hostId, clusterName: data.clusterName, clusterUid: data.clusterUid, objects: objects.map(formatObject).join('\n') },
    };
  };
  // A first import creates the marker in one request; otherwise what the existing marker of this
  // host lists is kept, and the marker is refreshed.
  const created = await client.request('POST', path, body([]));
  if (ok(created.status)) return;
  if (created.status !== 409 && created.status !== 403) throw new Error(`writing the marker failed: ${created.status}`);
  const existing = await client.request('GET', `${path}/${MARKER_NAME}`);
  const previous = existing.status === 200 && (existing.body as { data?: { hostId?: unknown } }).data?.hostId === data.hostId ? (parseObjects((existing.body as { data?: { objects?: unknown } }).data?.objects) ?? []) : [];
  const put = await client.request('PUT', `${path}/${MARKER_NAME}`, body(previous));
  if (!ok(put.status)) throw new Error(`refreshing the marker failed: ${put.status}`);
}

export interface ServiceAccountSetup {
  /** A kubeconfig with a short-lived TokenRequest token of flotilla-system/flotilla-host. */
  kubeconfig: string;
  /** ClusterRole flotilla:host, owner of the rest (give it to writeMarker). */
  owner: OwnerReference;
  /** Unix milliseconds. */
  expiresAt: number;
  /** What is Flotilla's in the member now (for the marker). */
  objects: MemberObject[];
}

export interface ServiceAccountOptions {
  timeoutMs?: number;
  /** Lifetime of the minted token (TokenRequest expirationSeconds), default 24 h. */
  tokenTtlSeconds?: number;
  memberRole?: MemberRoleChoice;
  /** What the member impersonation sync needs (ADR 0030); by default impersonation on, the default role map. */
  access?: MemberAccessChoice;
}

/**
 * The service-account path (ADR 0029), with the importing user's credential: creates
 * ServiceAccount flotilla-system/flotilla-host, binds it to ClusterRole flotilla:host and Role
 * flotilla-system/flotilla:host (plus cluster-admin only when chosen; an earlier cluster-admin
 * binding is removed otherwise), removes a legacy token Secret, and mints a short-lived token
 * through TokenRequest. Idempotent.
 */
export async function createServiceAccountKubeconfig(client: MemberClient, resolved: ResolvedKubeconfig, clusterName: string, options: ServiceAccountOptions = {}): Promise<ServiceAccountSetup> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const { owner, objects } = await ensureMemberRole(client, timeoutMs, options.access);
  const ns = MARKER_NAMESPACE;
  const sa: MemberObject = { kind: 'ServiceAccount', namespace: ns, name: SERVICE_ACCOUNT_NAME };
  if (await ensure(client, sa, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SERVICE_ACCOUNT_NAME, namespace: ns, labels: MANAGED_BY } }, false, owner)) objects.push(sa);
  const admin: MemberObject = { kind: 'ClusterRoleBinding', name: CLUSTER_ADMIN_BINDING_NAME };
  if (options.memberRole === 'cluster-admin') {
    if (await ensure(client, admin, clusterRoleBinding(CLUSTER_ADMIN_BINDING_NAME, 'cluster-admin'), false, owner)) objects.push(admin);
  } else {
    await deleteIfOurs(client, admin);
  }
  await deleteIfOurs(client, { kind: 'Secret', namespace: ns, name: LEGACY_TOKEN_SECRET_NAME });

  const minted = await requestServiceAccountToken(client, options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS);
  return { kubeconfig: serviceAccountKubeconfig(resolved, clusterName, minted.token), expiresAt: minted.expiresAt, objects, owner };
}

/**
 * ClusterRole flotilla:host first (everything else becomes its dependent), then namespace
 * flotilla-system, the bindings and the Role. Returns the owner reference and what is Flotilla's.
 */
async function ensureMemberRole(client: MemberClient, timeoutMs: number, access?: MemberAccessChoice): Promise<{ owner: OwnerReference; objects: MemberObject[] }> {
  const objects: MemberObject[] = [];
  const clusterRole: MemberObject = { kind: 'ClusterRole', name: MEMBER_ROLE_NAME };
  if (!(await ensure(client, clusterRole, memberClusterRole(access), true))) {
    throw new Error(`ClusterRole ${MEMBER_ROLE_NAME} exists in the member but is not Flotilla's (no app.kubernetes.io/managed-by=flotilla label): rename or remove it`);
  }
  const got = await client.request('GET', objectPath(clusterRole));
  const uid = (got.body as { metadata?: { uid?: unknown } }).metadata?.uid;
  if (got.status !== 200 || typeof uid !== 'string') throw new Error(`reading ClusterRole ${MEMBER_ROLE_NAME} back failed: ${got.status}`);
  const owner: OwnerReference = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: MEMBER_ROLE_NAME, uid };
  objects.push(clusterRole);
  if (await ensureNamespace(client, Date.now() + timeoutMs, owner)) objects.push(NAMESPACE);
  const ns = MARKER_NAMESPACE;
  const steps: [MemberObject, Record<string, unknown>, boolean][] = [
    [{ kind: 'ClusterRoleBinding', name: MEMBER_ROLE_NAME }, clusterRoleBinding(MEMBER_ROLE_NAME, MEMBER_ROLE_NAME), false],
    [{ kind: 'Role', namespace: ns, name: MEMBER_ROLE_NAME }, memberNamespaceRole(), true],
    [{ kind: 'RoleBinding', namespace: ns, name: MEMBER_ROLE_NAME }, memberRoleBinding(), false],
  ];
  for (const [target, object, refresh] of steps) if (await ensure(client, target, object, refresh, owner)) objects.push(target);
  return { owner, objects };
}

/**
 * The migration of an identity bound to cluster-admin by an earlier import (ADR 0029), run with
 * that identity's own credential while it still holds cluster-admin: creates the member role and
 * its bindings, mints a short-lived token, deletes the legacy token Secret (which ends the old
 * token), and last, with the new token, the cluster-admin binding. `connect` opens a client with
 * a token. Returns the new token and what is Flotilla's in the member afterwards.
 */
export async function moveToMemberRole(
  client: MemberClient,
  options: { timeoutMs?: number; tokenTtlSeconds?: number; connect: (token: string) => MemberClient; access?: MemberAccessChoice },
): Promise<{ owner: OwnerReference; objects: MemberObject[]; minted: MintedToken }> {
  const { owner, objects } = await ensureMemberRole(client, options.timeoutMs ?? 10_000, options.access);
  const sa: MemberObject = { kind: 'ServiceAccount', namespace: MARKER_NAMESPACE, name: SERVICE_ACCOUNT_NAME };
  const current = await client.request('GET', objectPath(sa));
  if (current.status === 200 && ours(current.body)) {
    await adopt(client, sa, current.body, owner);
    objects.push(sa);
  }
  const admin: MemberObject = { kind: 'ClusterRoleBinding', name: CLUSTER_ADMIN_BINDING_NAME };
  const adminOurs = ours((await client.request('GET', objectPath(admin))).body);
  const minted = await requestServiceAccountToken(client, options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS);
  await deleteIfOurs(client, { kind: 'Secret', namespace: MARKER_NAMESPACE, name: LEGACY_TOKEN_SECRET_NAME });
  if (adminOurs) {
    // Last, with the new token (the member role may delete this binding, by name): from here on
    // the identity holds only the member role.
    const next = options.connect(minted.token);
    try {
      const r = await next.request('DELETE', objectPath(admin));
      if (!ok(r.status) && r.status !== 404) throw new Error(`deleting ${describeObject(admin)} in the member failed: ${r.status}; ${memberSaid((r.body as { message?: unknown }).message)}`);
    } finally {
      next.close();
    }
  }
  return { owner, objects, minted };
}

async function deleteIfOurs(client: MemberClient, o: MemberObject): Promise<void> {
  const got = await client.request('GET', objectPath(o));
  if (got.status !== 200 || !ours(got.body)) return;
  const r = await client.request('DELETE', objectPath(o));
  if (!ok(r.status) && r.status !== 404) throw new Error(`deleting ${describeObject(o)} in the member failed: ${r.status}; ${memberSaid((r.body as { message?: unknown }).message)}`);
}

/** Something Flotilla put in a member and could not remove (or would not, without a readable marker). */
export interface Orphan {
  kind: string;
  namespace?: string;
  name: string;
  reason: string;
}

/** Everything an import may have put in a member: what removal reports when it cannot read the marker. */
export const POSSIBLE_OBJECTS: readonly MemberObject[] = [
  MARKER,
  NAMESPACE,
  { kind: 'ClusterRoleBinding', name: CLUSTER_ADMIN_BINDING_NAME },
  { kind: 'ClusterRoleBinding', name: MEMBER_ROLE_NAME },
  { kind: 'ClusterRole', name: MEMBER_ROLE_NAME },
  { kind: 'ServiceAccount', namespace: MARKER_NAMESPACE, name: SERVICE_ACCOUNT_NAME },
  { kind: 'Role', namespace: MARKER_NAMESPACE, name: MEMBER_ROLE_NAME },
  { kind: 'RoleBinding', namespace: MARKER_NAMESPACE, name: MEMBER_ROLE_NAME },
  // The member impersonation sync's objects (ADR 0030).
  { kind: 'ClusterRole', name: IMPERSONATION_ROLE_NAME },
  { kind: 'ClusterRoleBinding', name: IMPERSONATION_ROLE_NAME },
  ...ROLE_BINDING_NAMES.map((name): MemberObject => ({ kind: 'ClusterRoleBinding', name })),
];

/** Of `candidates`, those still in the member, reported with `reason` and deleted never. */
async function reportLeft(client: MemberClient, candidates: readonly MemberObject[], reason: string): Promise<Orphan[]> {
  const orphans: Orphan[] = [];
  for (const o of candidates) {
    let status: number;
    try {
      status = (await client.request('GET', objectPath(o))).status;
    } catch (error) {
      if (error instanceof MemberUnavailableError) status = 0;
      else throw error;
    }
    if (status === 404) continue;
    orphans.push({ kind: o.kind, ...(o.namespace ? { namespace: o.namespace } : {}), name: o.name, reason: status === 200 ? reason : `${reason}; whether it exists is unknown (${status || 'no answer'})` });
  }
  return orphans;
}

/**
 * Removes what the marker says Flotilla created in the member (ADR 0029), and the marker.
 * When the marker cannot be read (an error, missing, or naming another host), nothing is
 * deleted: what is still there is reported as orphans. Idempotent: what is already gone counts
 * as removed. Throws MemberUnavailableError when the member does not answer.
 */
export async function removeFromMember(client: MemberClient, hostId: string): Promise<Orphan[]> {
  const marker = await client.request('GET', `/api/v1/namespaces/${MARKER_NAMESPACE}/configmaps/${MARKER_NAME}`);
  const data = (marker.body as { data?: { hostId?: unknown; objects?: unknown } }).data;
  if (marker.status !== 200) {
    const why = marker.status === 404 ? 'the marker ConfigMap flotilla-system/flotilla-host is missing' : `the marker ConfigMap flotilla-system/flotilla-host could not be read (${marker.status})`;
    return reportLeft(client, POSSIBLE_OBJECTS, `${why}, so Flotilla cannot tell what it created: not deleted; check and remove by hand`);
  }
  if (data?.hostId !== hostId) {
    const other = typeof data?.hostId === 'string' ? cleanText(data.hostId, 64) : '';
    return reportLeft(client, POSSIBLE_OBJECTS, `the marker names another host ("${other}"): left to that host; remove by hand if that host is gone`);
  }
  // A marker written before ADR 0029 lists nothing: what Flotilla created then carries its label.
  let objects = parseObjects(data.objects);
  if (objects === undefined) {
    objects = [];
    for (const o of POSSIBLE_OBJECTS) if (!sameObject(o, MARKER) && ours((await client.request('GET', objectPath(o))).body)) objects.push(o);
  }
  const role = objects.find((o) => o.kind === 'ClusterRole' && o.name === MEMBER_ROLE_NAME);
  if (role) {
    // The service-account path: one request. Everything else Flotilla created there is a dependent
    // of ClusterRole flotilla:host, which the member's garbage collector deletes after it; deleting
    // them one by one would take away the credential's rights after the first.
    const r = await client.request('DELETE', objectPath(role), { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' });
    if (!ok(r.status) && r.status !== 404) {
      return [{ kind: role.kind, name: role.name, reason: `delete answered ${r.status}; its dependents (${objects.filter((o) => o !== role).map(describeObject).join(', ')}) stay with it` }];
    }
    // The marker is a dependent too; deleted now as well, while the Role still allows it (if the
    // collector was first, it is gone either way). Kept until the role is gone, so a retry can read it.
    await client.request('DELETE', objectPath(MARKER));
    return [];
  }
  const namespaceOurs = objects.some((o) => sameObject(o, NAMESPACE));
  // Namespaced objects go with Flotilla's own namespace; the marker goes with the rest.
  const targets = [MARKER, ...objects.filter((o) => !sameObject(o, MARKER) && !(namespaceOurs && o.namespace === MARKER_NAMESPACE))];
  const answers = await Promise.all(targets.map(async (o) => ({ o, status: (await client.request('DELETE', objectPath(o))).status })));
  const orphans: Orphan[] = [];
  for (const { o, status } of answers) {
    if (ok(status) || status === 404 || (o.kind === 'Namespace' && status === 409)) continue;
    orphans.push({ kind: o.kind, ...(o.namespace ? { namespace: o.namespace } : {}), name: o.name, reason: `delete answered ${status}` });
  }
  return orphans;
}
