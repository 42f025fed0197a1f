import { ClusterCondition, ClusterConditionType, ErrorReason, FlotillaError } from '@flotilla/domain';
import { kubeconfigError, parseKubeconfig, ResolvedKubeconfig } from '../kubeconfig/kubeconfig';
import { MemberClient, MemberUnavailableError, clientCertificateExpiry } from '../member/member-client';
import { listNodeMetadata } from '../member/node-list';
import { MemberAddressPolicy, defaultMemberPolicy } from '../net/address-policy';
import { cleanText, redactUrl } from '../net/member-text';
import { MARKER_NAME, MARKER_NAMESPACE, memberRoleChoice } from './member-role';

export const KUBECONFIG_FIELD = 'spec.connection.kubeconfig';

export { MARKER_NAME, MARKER_NAMESPACE } from './member-role';

/** Names of the checks, in the order they run (issue 4). */
export const IMPORT_CHECKS = [
  'KubeconfigParses',
  'ContextUsable',
  'ServerAnswers',
  'TLSVerifies',
  'CredentialsAuthenticate',
  'CredentialsAuthorize',
  'VersionAnswers',
  'NotAlreadyImported',
  'NotManagedByAnotherHost',
  'NameFree',
] as const;
export type ImportCheck = (typeof IMPORT_CHECKS)[number];

export interface Permission {
  verb: string;
  group: string;
  resource: string;
  namespace?: string;
}

/** What Flotilla needs in every member: read its identity and nodes, keep its marker. */
export const REQUIRED_PERMISSIONS: readonly Permission[] = [
  { verb: 'get', group: '', resource: 'namespaces' },
  { verb: 'create', group: '', resource: 'namespaces' },
  { verb: 'list', group: '', resource: 'nodes' },
  { verb: 'get', group: '', resource: 'configmaps', namespace: MARKER_NAMESPACE },
  { verb: 'create', group: '', resource: 'configmaps', namespace: MARKER_NAMESPACE },
  { verb: 'update', group: '', resource: 'configmaps', namespace: MARKER_NAMESPACE },
  { verb: 'delete', group: '', resource: 'configmaps', namespace: MARKER_NAMESPACE },
];

/**
 * And, for the service-account path (ADR 0029), what the importing credential needs to create
 * Flotilla's own identity and its member role, and to mint its first token.
 */
export const SERVICE_ACCOUNT_PERMISSIONS: readonly Permission[] = [
  { verb: 'create', group: '', resource: 'serviceaccounts', namespace: MARKER_NAMESPACE },
  { verb: 'create', group: '', resource: 'serviceaccounts/token', namespace: MARKER_NAMESPACE },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'roles', namespace: MARKER_NAMESPACE },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: MARKER_NAMESPACE },
];

/** The warning for a user-supplied credential that holds every verb on every resource (ADR 0029). */
export function excessRightsWarning(userName: string): string {
  return (
    `the kubeconfig's user "${cleanText(userName, 64)}" may do anything in the member (every verb on every resource), far more than Flotilla needs: ` +
    'set annotation import.flotilla.io/credentials=service-account to have Flotilla create its own identity with only the rights it uses (docs/security.md, "The member role"), ' +
    'or give a kubeconfig bound to a narrower role'
  );
}

export interface ImportCheckOptions {
  name: string;
  kubeconfig: string;
  context?: string;
  allowInsecureSkipTlsVerify?: boolean;
  allowProxyUrl?: boolean;
  /**
   * The member address policy (memberPolicyFromConfig(config)). Without it, the policy of this
   * process's environment, plus serverAllowList.
   */
  policy?: MemberAddressPolicy;
  /** The old form of the allow-list, used only when no policy is given. */
  serverAllowList?: readonly string[];
  connectTimeoutMs?: number;
  /** Largest answer read from the member (default 4 MiB). */
  maxBodyBytes?: number;
  /** This host's identity, written in and compared with the marker. */
  hostId: string;
  /** Also require the permissions of the service-account path. */
  needServiceAccount?: boolean;
  /** Skip NameFree (the import job runs for a name the registry already holds). */
  skipNameCheck?: boolean;
  /** The cluster's annotations, for the member role choice (import.flotilla.io/member-role). */
  annotations?: Record<string, string>;
}

/** What the registry knows, asked by checks 8 and 10. */
export interface ImportLookups {
  /** The name of the cluster already imported with this kube-system UID, other than `name`. */
  clusterWithUid(uid: string, exceptName: string): Promise<string | undefined>;
  nameTaken(name: string): Promise<boolean>;
}

export interface NodeFacts {
  name: string;
  labels: Record<string, string>;
  providerID?: string;
}

/** What the checks learned about the member. */
export interface MemberFacts {
  resolved: ResolvedKubeconfig;
  gitVersion: string;
  kubeSystemUid: string;
  nodes: NodeFacts[];
  /** The marker's host id when this host's marker is already there (a re-import). */
  markerHostId?: string;
  /** What the user should know but that does not stop the import (e.g. excess rights). */
  warnings?: string[];
}

export type StepReporter = (check: ImportCheck, index: number) => Promise<void> | void;

const fail = (message: string, field = KUBECONFIG_FIELD, reason = 'FieldValueInvalid') => kubeconfigError(message, field, reason);

export function describePermission(p: Permission): string {
  return `${p.verb} ${p.group ? `${p.resource}.${p.group}` : p.resource}${p.namespace ? ` in namespace ${p.namespace}` : ' (cluster-wide)'}`;
}

/** The policy an import applies: the one given, else this process's environment's plus the old allow-list. */
export function importPolicy(options: Pick<ImportCheckOptions, 'policy' | 'serverAllowList'>): MemberAddressPolicy {
  return options.policy ?? defaultMemberPolicy(options.serverAllowList ?? []);
}

/** What to do about a member call that failed, by why it failed. */
function hint(error: MemberUnavailableError): string {
  if (error.failure === 'refused') return '';
  if (error.failure === 'answer') return '; is the server a Kubernetes API server?';
  return '; check that the server address is reachable from the Flotilla host';
}

async function call(client: MemberClient, check: ImportCheck, method: string, path: string, body?: unknown, headers?: Record<string, string>) {
  try {
    return await client.request(method, path, body, headers);
  } catch (error) {
    if (error instanceof MemberUnavailableError) throw fail(`${check}: ${error.message}${hint(error)}`);
    throw error;
  }
}

/** Steps 1 and 2, plus the refusal of hostile input; no connection is made. */
export async function parseForImport(options: ImportCheckOptions): Promise<ResolvedKubeconfig> {
  if (!options.kubeconfig) throw fail('is required for a direct connection: give the member\'s kubeconfig', KUBECONFIG_FIELD, 'FieldValueRequired');
  const resolved = parseKubeconfig(options.kubeconfig, {
    context: options.context,
    allowInsecureSkipTlsVerify: options.allowInsecureSkipTlsVerify,
    allowProxyUrl: options.allowProxyUrl,
  });
  const policy = importPolicy(options);
  await policy.checkServer(resolved.server, KUBECONFIG_FIELD);
  if (resolved.proxyUrl) {
    let proxy: URL;
    try {
      proxy = new URL(resolved.proxyUrl);
    } catch {
      throw fail(`proxy-url "${redactUrl(resolved.proxyUrl).slice(0, 200)}" is not a URL: use http://host:port`);
    }
    if (proxy.protocol !== 'http:') throw fail(`proxy-url must be an http:// proxy (HTTP CONNECT); ${proxy.protocol} proxies are not supported`);
    await policy.checkServer(resolved.proxyUrl, KUBECONFIG_FIELD, 'proxy-url', ['http:']);
  }
  if (resolved.auth.type === 'none') {
    throw fail(`the user of context "${resolved.contextName}" has no credentials: add a token or client-certificate-data and client-key-data`);
  }
  memberRoleChoice(options.annotations);
  return resolved;
}

/**
 * Runs the import checks in order, stopping at the first failure (a FlotillaError naming the
 * field and the fix). Writes nothing anywhere.
 */
export async function runImportChecks(options: ImportCheckOptions, lookups: ImportLookups, report: StepReporter = () => undefined): Promise<MemberFacts> {
  await report('KubeconfigParses', 0);
  const resolved = await parseForImport(options);
  await report('ContextUsable', 1);
  const client = new MemberClient(resolved, options.connectTimeoutMs ?? 10_000, { policy: importPolicy(options), ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}) });
  try {
    return await checkMember(client, resolved, options, lookups, report);
  } finally {
    client.close();
  }
}

async function checkMember(client: MemberClient, resolved: ResolvedKubeconfig, options: ImportCheckOptions, lookups: ImportLookups, report: StepReporter): Promise<MemberFacts> {
  const serverField = `${KUBECONFIG_FIELD}`;
  const server = redactUrl(resolved.server);

  await report('ServerAnswers', 2);
  let tls;
  try {
    tls = await client.probeTls();
  } catch (error) {
    if (error instanceof MemberUnavailableError && error.failure === 'refused') throw fail(`ServerAnswers: ${error.message}`, serverField);
    if (error instanceof MemberUnavailableError) {
      throw fail(`ServerAnswers: ${error.message}: the server ${server} must answer within ${options.connectTimeoutMs ?? 10_000} ms; check the address and that the Flotilla host can reach it`, serverField);
    }
    throw error;
  }

  await report('TLSVerifies', 3);
  if (!resolved.insecureSkipTlsVerify && !tls.authorized) {
    throw fail(
      `TLSVerifies: the server certificate of ${server} does not verify against certificate-authority-data (${tls.authorizationError ?? 'unverified'}): give the CA that signs the API server's certificate`,
      serverField,
    );
  }

  await report('CredentialsAuthenticate', 4);
  const who = await call(client, 'CredentialsAuthenticate', 'GET', '/api');
  if (who.status === 401) {
    throw fail(`CredentialsAuthenticate: the credentials of user "${resolved.userName}" are not accepted by the cluster (401 Unauthorized): give a valid token or client certificate`);
  }

  await report('CredentialsAuthorize', 5);
  const needed = [...REQUIRED_PERMISSIONS, ...(options.needServiceAccount ? SERVICE_ACCOUNT_PERMISSIONS : [])];
  // The excess-rights question goes out with the permission reviews, not after them.
  // Best effort: a review that fails here only loses the warning (the reviews below fail the check).
  const excessive = options.needServiceAccount ? Promise.resolve(false) : allowsEverything(client).catch(() => false);
  const answers = await Promise.all(
    needed.map(async (p) => {
      const r = await call(client, 'CredentialsAuthorize', 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { verb: p.verb, group: p.group, resource: p.resource, ...(p.namespace ? { namespace: p.namespace } : {}) } },
      });
      const allowed = r.status === 201 || r.status === 200 ? (r.body as { status?: { allowed?: boolean } }).status?.allowed === true : false;
      return { p, allowed };
    }),
  );
  const missing = answers.filter((a) => !a.allowed).map((a) => describePermission(a.p));
  if (missing.length > 0) {
    throw new FlotillaError(
      ErrorReason.Invalid,
      `${KUBECONFIG_FIELD}: CredentialsAuthorize: user "${resolved.userName}" lacks permissions Flotilla needs: ${missing.join('; ')}. Bind a role granting them (cluster-admin grants all)`,
      { causes: missing.map((m) => ({ reason: 'FieldValueForbidden', field: KUBECONFIG_FIELD, message: `missing permission: ${m}` })) },
    );
  }
  const warnings: string[] = [];
  // A credential the user gives is stored as given: say when it holds far more than Flotilla needs.
  if (await excessive) warnings.push(excessRightsWarning(resolved.userName));

  await report('VersionAnswers', 6);
  const version = await call(client, 'VersionAnswers', 'GET', '/version');
  const rawVersion = (version.body as { gitVersion?: unknown }).gitVersion;
  // The member's own text, recorded in the status and the job: kept short and clean.
  const gitVersion = typeof rawVersion === 'string' ? cleanText(rawVersion, 64) : '';
  if (version.status !== 200 || !gitVersion) throw fail(`VersionAnswers: /version answered ${version.status} without a gitVersion: is ${server} a Kubernetes API server?`);

  await report('NotAlreadyImported', 7);
  const ns = await call(client, 'NotAlreadyImported', 'GET', '/api/v1/namespaces/kube-system');
  const rawUid = (ns.body as { metadata?: { uid?: unknown } }).metadata?.uid;
  if (ns.status !== 200 || !rawUid) throw fail(`NotAlreadyImported: cannot read namespace kube-system (${ns.status}): the credentials must allow get namespaces`);
  // A UID is recorded as a label value: a member answering anything else is not a Kubernetes API server.
  if (typeof rawUid !== 'string' || !/^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(rawUid)) {
    throw fail('NotAlreadyImported: namespace kube-system has a malformed uid (a UUID is expected): is the server a Kubernetes API server?');
  }
  const kubeSystemUid = rawUid;
  const existing = await lookups.clusterWithUid(kubeSystemUid, options.name);
  if (existing) {
    throw new FlotillaError(ErrorReason.AlreadyExists, `${KUBECONFIG_FIELD}: NotAlreadyImported: this member (kube-system UID ${kubeSystemUid}) is already imported as cluster "${existing}": use that cluster, or delete it first`, {
      name: existing,
      group: 'cluster.kubesphere.io',
      kind: 'clusters',
      causes: [{ reason: 'FieldValueDuplicate', field: KUBECONFIG_FIELD, message: `the member is already imported as cluster "${existing}"` }],
    });
  }

  await report('NotManagedByAnotherHost', 8);
  const marker = await call(client, 'NotManagedByAnotherHost', 'GET', `/api/v1/namespaces/${MARKER_NAMESPACE}/configmaps/${MARKER_NAME}`);
  let markerHostId: string | undefined;
  if (marker.status === 200) {
    const rawHostId = (marker.body as { data?: Record<string, unknown> }).data?.hostId;
    const hostId = typeof rawHostId === 'string' ? rawHostId : '';
    if (hostId !== options.hostId) {
      throw fail(
        `NotManagedByAnotherHost: the member is managed by another host ("${cleanText(hostId, 64)}", ConfigMap ${MARKER_NAMESPACE}/${MARKER_NAME}): remove it from that host first, or delete the ConfigMap if that host is gone`,
      );
    }
    markerHostId = hostId;
  }

  if (!options.skipNameCheck) {
    await report('NameFree', 9);
    if (await lookups.nameTaken(options.name)) {
      throw new FlotillaError(ErrorReason.AlreadyExists, `metadata.name: NameFree: clusters.cluster.kubesphere.io "${options.name}" already exists: choose another name`, {
        name: options.name,
        group: 'cluster.kubesphere.io',
        kind: 'clusters',
        causes: [{ reason: 'FieldValueDuplicate', field: 'metadata.name', message: `a cluster named "${options.name}" already exists` }],
      });
    }
  }

  const nodes = await readNodes(client);
  return { resolved, gitVersion, kubeSystemUid, nodes, ...(markerHostId ? { markerHostId } : {}), warnings };
}

/** Whether the credential may do every verb on every resource cluster-wide (`* * *`, cluster-admin's rule). */
async function allowsEverything(client: MemberClient): Promise<boolean> {
  const r = await call(client, 'CredentialsAuthorize', 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: { resourceAttributes: { verb: '*', group: '*', resource: '*' } },
  });
  return (r.status === 201 || r.status === 200) && (r.body as { status?: { allowed?: boolean } }).status?.allowed === true;
}

/**
 * The member's nodes, metadata only and page by page (the prober's helper), plus the providerID
 * of one node (it tells EKS apart), read from a one-node page of full objects.
 */
async function readNodes(client: MemberClient): Promise<NodeFacts[]> {
  const nodes: NodeFacts[] = [];
  // The one-node sample is asked for alongside the metadata pages, not after them.
  const sampled = call(client, 'CredentialsAuthorize', 'GET', '/api/v1/nodes?limit=1');
  sampled.catch(() => undefined); // handled below, after the pages; never an unhandled rejection meanwhile
  await listNodeMetadata(
    async (path, accept) => call(client, 'CredentialsAuthorize', 'GET', path, undefined, { Accept: accept }),
    (page) => nodes.push(...page),
  );
  const sample = await sampled;
  if (nodes.length > 0) {
    const first = (sample.body as { items?: { metadata?: { name?: unknown }; spec?: { providerID?: unknown } }[] }).items?.[0];
    const providerID = first?.spec?.providerID;
    const node = nodes.find((n) => n.name === first?.metadata?.name);
    if (node && typeof providerID === 'string' && providerID) node.providerID = cleanText(providerID, 256);
  }
  return nodes;
}

const SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000;

/** KubeConfigCertExpiresInSevenDays, computed from the kubeconfig's client certificate. */
export function kubeconfigCertCondition(resolved: ResolvedKubeconfig, now = new Date()): ClusterCondition {
  const type = ClusterConditionType.KubeConfigCertExpiresInSevenDays;
  const expiry = clientCertificateExpiry(resolved);
  if (!expiry) return { type, status: 'False', reason: 'NoClientCertificate', message: 'the kubeconfig authenticates without a client certificate' };
  const soon = expiry.getTime() - now.getTime() < SEVEN_DAYS_MS;
  return { type, status: soon ? 'True' : 'False', reason: soon ? 'CertificateExpiresSoon' : 'CertificateValid', message: `the client certificate expires at ${expiry.toISOString()}` };
}
