import { isIP } from 'node:net';
import { CLUSTER_API_GROUP, Cluster, ErrorReason, FlotillaError, ImportAnnotations, SERVICE_ACCOUNT_CREDENTIALS } from '@flotilla/domain';
import { ResolvedKubeconfig, kubeconfigError, parseKubeconfig } from '../kubeconfig/kubeconfig';
import type { MemberClient } from '../member/member-client';
import { MemberAddressPolicy, memberPolicyFromConfig } from '../net/address-policy';
import { ImportCheckOptions, KUBECONFIG_FIELD } from './import-checks';

/**
 * The operator's import policy (libs/config's importPolicyConfigShape, as loaded). provider-import
 * alone reads it (ADR 0027): its import jobs, and the guard, validation and rotation it serves
 * the gateway. The check options are built from it in one place, importCheckOptions below.
 */
export interface ImportPolicyConfig {
  IMPORT_CONNECT_TIMEOUT_MS: number;
  FLOTILLA_ALLOW_PROXY_URL: boolean;
  FLOTILLA_SERVER_ALLOW_LIST: readonly string[];
  FLOTILLA_ALLOW_LOOPBACK_MEMBERS: boolean;
  FLOTILLA_ALLOW_PLAIN_HTTP_MEMBERS: boolean;
  FLOTILLA_HOST_ID: string;
}

const policies = new WeakMap<ImportPolicyConfig, MemberAddressPolicy>();

/** The member address policy of a loaded import policy, built once per config object. */
export function memberPolicyOf(config: ImportPolicyConfig): MemberAddressPolicy {
  let policy = policies.get(config);
  if (!policy) {
    policy = memberPolicyFromConfig(config);
    policies.set(config, policy);
  }
  return policy;
}

/** The import check options a cluster's annotations and the import policy give, for `kubeconfig`. */
export function importCheckOptions(cluster: Cluster, policy: ImportPolicyConfig, kubeconfig: string): ImportCheckOptions {
  const annotations = cluster.metadata.annotations ?? {};
  return {
    name: cluster.metadata.name,
    kubeconfig,
    context: annotations[ImportAnnotations.context] || undefined,
    allowInsecureSkipTlsVerify: annotations[ImportAnnotations.allowInsecureSkipTlsVerify] === 'true',
    allowProxyUrl: policy.FLOTILLA_ALLOW_PROXY_URL,
    policy: memberPolicyOf(policy),
    connectTimeoutMs: policy.IMPORT_CONNECT_TIMEOUT_MS,
    hostId: policy.FLOTILLA_HOST_ID,
    needServiceAccount: annotations[ImportAnnotations.credentials] === SERVICE_ACCOUNT_CREDENTIALS,
    annotations,
  };
}

/**
 * The kubeconfig rules that need no policy and no network, for the public edge (the gateway):
 * one bounded YAML document, the named or current context, no exec or auth-provider plugins, no
 * file references, insecure-skip-tls-verify only with the cluster's own annotation, and some
 * credentials. What the operator's policy decides (proxy-url, the member address policy) is left
 * to provider-import: a proxy-url passes here. Throws Invalid naming spec.connection.kubeconfig.
 */
export function offlineKubeconfigCheck(cluster: Cluster, kubeconfig: string): ResolvedKubeconfig {
  if (!kubeconfig) throw kubeconfigError("is required for a direct connection: give the member's kubeconfig", KUBECONFIG_FIELD, 'FieldValueRequired');
  const annotations = cluster.metadata.annotations ?? {};
  const resolved = parseKubeconfig(kubeconfig, {
    context: annotations[ImportAnnotations.context] || undefined,
    allowInsecureSkipTlsVerify: annotations[ImportAnnotations.allowInsecureSkipTlsVerify] === 'true',
    allowProxyUrl: true,
  });
  if (resolved.auth.type === 'none') {
    throw kubeconfigError(`the user of context "${resolved.contextName}" has no credentials: add a token or client-certificate-data and client-key-data`);
  }
  return resolved;
}

/** The strictest member address policy: no allow-list, no loopback, no plain http. */
let strictest: MemberAddressPolicy | undefined;

/**
 * Whether the import policy could change the verdict on this (offline-checked) kubeconfig.
 * False only for an https:// server given as an IP literal that even the strictest policy
 * accepts, with no proxy-url: every policy accepts it, so no policy owner need be asked.
 * Names (which need resolving), proxies, http:// and refusable literals need provider-import.
 */
export function needsPolicyDecision(resolved: ResolvedKubeconfig): boolean {
  if (resolved.proxyUrl) return true;
  let url: URL;
  try {
    url = new URL(resolved.server);
  } catch {
    return true;
  }
  if (url.protocol !== 'https:') return true;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) === 0) return true;
  strictest ??= new MemberAddressPolicy({ allowLoopback: false, allowPlainHttp: false, allowList: [] });
  return strictest.refusalForHost(host) !== undefined;
}

/**
 * The member's credentials do not (yet) let it read namespace kube-system. Not a domain error on
 * purpose: a credential Flotilla has just created may not be accepted yet, so a job retries it.
 */
export class MemberUidUnreadableError extends Error {
  constructor(readonly status: number) {
    super(`the credentials cannot read namespace kube-system (HTTP ${status}); they must allow get namespaces`);
    this.name = 'MemberUidUnreadableError';
  }
}

/**
 * The member's identity: the UID of its kube-system namespace. Throws MemberUidUnreadableError
 * when the credentials cannot read it, MemberUnavailableError when the member does not answer.
 */
export async function readMemberUid(client: MemberClient): Promise<string> {
  const ns = await client.request('GET', '/api/v1/namespaces/kube-system');
  const uid = (ns.body as { metadata?: { uid?: string } }).metadata?.uid;
  if (ns.status !== 200 || !uid) throw new MemberUidUnreadableError(ns.status);
  return uid;
}

/**
 * The "same member" rule: credentials given for cluster `clusterName` must reach the member it was
 * imported from (kube-system UID `expectedUid`). Returns the UID, or throws an Invalid error naming
 * spec.connection.kubeconfig and the fix. `what` names the credentials in the message.
 */
export function assertSameMember(memberUid: string, expectedUid: string, clusterName: string, what = 'the new kubeconfig'): string {
  if (memberUid === expectedUid) return memberUid;
  throw new FlotillaError(
    ErrorReason.Invalid,
    `${KUBECONFIG_FIELD}: ${what} reaches a different cluster (kube-system UID ${memberUid}, expected ${expectedUid}): give credentials for the cluster "${clusterName}" itself`,
    {
      name: clusterName,
      group: CLUSTER_API_GROUP,
      kind: 'Cluster',
      causes: [{ reason: 'FieldValueInvalid', field: KUBECONFIG_FIELD, message: `reaches kube-system UID ${memberUid}, not ${expectedUid}` }],
    },
  );
}

/** Reads the member's kube-system UID through `client` and applies assertSameMember to it. */
export async function expectSameMember(client: MemberClient, expectedUid: string, clusterName: string, what?: string): Promise<string> {
  return assertSameMember(await readMemberUid(client), expectedUid, clusterName, what);
}
