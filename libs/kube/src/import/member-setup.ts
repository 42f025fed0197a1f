import { stringify } from 'yaml';
import type { ResolvedKubeconfig } from '../kubeconfig/kubeconfig';
import type { MemberClient } from '../member/member-client';
import { MARKER_NAME, MARKER_NAMESPACE } from './import-checks';

/** The ServiceAccount, ClusterRoleBinding and token Secret behind a lasting kubeconfig (ADR 0011). */
export const SERVICE_ACCOUNT_NAME = 'flotilla-host';
export const TOKEN_SECRET_NAME = 'flotilla-host-token';
export const CLUSTER_ROLE_BINDING_NAME = 'flotilla-host';
const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'flotilla' };

export interface MarkerData {
  hostId: string;
  clusterName: string;
  clusterUid: string;
}

const ok = (status: number) => status >= 200 && status < 300;

async function ensure(client: MemberClient, collection: string, object: Record<string, unknown>, what: string): Promise<void> {
  const r = await client.request('POST', collection, object);
  if (ok(r.status) || r.status === 409) return;
  throw new Error(`creating ${what} in the member failed: ${r.status} ${String((r.body as { message?: string }).message ?? '')}`);
}

async function ensureNamespace(client: MemberClient, deadline: number): Promise<void> {
  for (;;) {
    const got = await client.request('GET', `/api/v1/namespaces/${MARKER_NAMESPACE}`);
    const phase = (got.body as { status?: { phase?: string } }).status?.phase;
    if (got.status === 200 && phase !== 'Terminating') return;
    if (got.status === 404) {
      await ensure(client, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: MARKER_NAMESPACE, labels: MANAGED_BY } }, `namespace ${MARKER_NAMESPACE}`);
      continue;
    }
    if (Date.now() > deadline) throw new Error(`namespace ${MARKER_NAMESPACE} in the member stays ${phase ?? `at ${got.status}`}; retry later`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Writes (or refreshes) the marker ConfigMap flotilla-system/flotilla-host. Idempotent. */
export async function writeMarker(client: MemberClient, data: MarkerData, timeoutMs = 10_000): Promise<void> {
  await ensureNamespace(client, Date.now() + timeoutMs);
  const body = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: MARKER_NAME, namespace: MARKER_NAMESPACE, labels: MANAGED_BY },
    data: { hostId: data.hostId, clusterName: data.clusterName, clusterUid: data.clusterUid },
  };
  const path = `/api/v1/namespaces/${MARKER_NAMESPACE}/configmaps`;
  const created = await client.request('POST', path, body);
  if (ok(created.status)) return;
  if (created.status !== 409) throw new Error(`writing the marker failed: ${created.status}`);
  const put = await client.request('PUT', `${path}/${MARKER_NAME}`, body);
  if (!ok(put.status)) throw new Error(`refreshing the marker failed: ${put.status}`);
}

/**
 * Creates the ServiceAccount, its ClusterRoleBinding (cluster-admin) and a long-lived token
 * Secret, waits for the token controller to fill it, and returns a token kubeconfig. Idempotent.
 */
export async function createServiceAccountKubeconfig(client: MemberClient, resolved: ResolvedKubeconfig, clusterName: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  await ensureNamespace(client, deadline);
  const ns = MARKER_NAMESPACE;
  await ensure(client, `/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SERVICE_ACCOUNT_NAME, namespace: ns, labels: MANAGED_BY } }, 'the service account');
  await ensure(
    client,
    '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: CLUSTER_ROLE_BINDING_NAME, labels: MANAGED_BY },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name: SERVICE_ACCOUNT_NAME, namespace: ns }],
    },
    'the cluster role binding',
  );
  await ensure(
    client,
    `/api/v1/namespaces/${ns}/secrets`,
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: { name: TOKEN_SECRET_NAME, namespace: ns, labels: MANAGED_BY, annotations: { 'kubernetes.io/service-account.name': SERVICE_ACCOUNT_NAME } },
    },
    'the token secret',
  );
  for (;;) {
    const s = await client.request('GET', `/api/v1/namespaces/${ns}/secrets/${TOKEN_SECRET_NAME}`);
    const token = (s.body as { data?: { token?: string } }).data?.token;
    const ca = (s.body as { data?: { 'ca.crt'?: string } }).data?.['ca.crt'];
    if (s.status === 200 && token) {
      const caData = resolved.caData ? Buffer.from(resolved.caData, 'utf8').toString('base64') : ca;
      return stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: clusterName, cluster: { server: resolved.server, ...(caData ? { 'certificate-authority-data': caData } : {}), ...(resolved.tlsServerName ? { 'tls-server-name': resolved.tlsServerName } : {}) } }],
        users: [{ name: `${clusterName}-flotilla`, user: { token: Buffer.from(token, 'base64').toString('utf8') } }],
        contexts: [{ name: clusterName, context: { cluster: clusterName, user: `${clusterName}-flotilla` } }],
        'current-context': clusterName,
      });
    }
    if (Date.now() > deadline) throw new Error(`the token controller of the member did not fill secret ${ns}/${TOKEN_SECRET_NAME} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Something Flotilla put in a member and could not remove. */
export interface Orphan {
  kind: string;
  namespace?: string;
  name: string;
  reason: string;
}

/**
 * Removes what Flotilla put into the member: the marker, the service account's binding, and
 * the flotilla-system namespace (with the ServiceAccount and token Secret). Idempotent: what is
 * already gone counts as removed. Returns what could not be removed; throws
 * MemberUnavailableError when the member does not answer.
 */
export async function removeFromMember(client: MemberClient, hostId: string): Promise<Orphan[]> {
  const orphans: Orphan[] = [];
  const gone = (status: number) => ok(status) || status === 404;
  const marker = await client.request('GET', `/api/v1/namespaces/${MARKER_NAMESPACE}/configmaps/${MARKER_NAME}`);
  const markerHost = (marker.body as { data?: { hostId?: string } }).data?.hostId;
  if (marker.status === 200 && markerHost !== hostId) {
    // Another host owns this member now: leave its marker and objects alone.
    return orphans;
  }
  const steps: { kind: string; namespace?: string; name: string; path: string }[] = [
    { kind: 'ConfigMap', namespace: MARKER_NAMESPACE, name: MARKER_NAME, path: `/api/v1/namespaces/${MARKER_NAMESPACE}/configmaps/${MARKER_NAME}` },
  ];
  for (const s of steps) {
    const r = await client.request('DELETE', s.path);
    if (!gone(r.status)) orphans.push({ kind: s.kind, ...(s.namespace ? { namespace: s.namespace } : {}), name: s.name, reason: `delete answered ${r.status}` });
  }
  // The namespace holds the ServiceAccount and its token Secret. Deleting it and the binding may
  // revoke the credential in use, so both requests leave together.
  const [nsDel, crbDel] = await Promise.all([
    client.request('DELETE', `/api/v1/namespaces/${MARKER_NAMESPACE}`),
    client.request('DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${CLUSTER_ROLE_BINDING_NAME}`),
  ]);
  if (!gone(nsDel.status) && nsDel.status !== 409) orphans.push({ kind: 'Namespace', name: MARKER_NAMESPACE, reason: `delete answered ${nsDel.status}` });
  if (!gone(crbDel.status)) orphans.push({ kind: 'ClusterRoleBinding', name: CLUSTER_ROLE_BINDING_NAME, reason: `delete answered ${crbDel.status}` });
  return orphans;
}

