import { type Cluster, ImportAnnotations } from '@flotilla/domain';
import { parseKubeconfig, type ResolvedKubeconfig } from '../kubeconfig/kubeconfig';
import type { MemberAddressPolicy } from '../net/address-policy';
import type { HandshakeGate } from '../net/handshake-gate';
import { MemberClient } from './member-client';
import { ClusterProber } from '../probe/prober';

/** The stored credentials of a cluster (registry GetClusterCredentials). */
export interface StoredCredentials {
  kubeconfig?: string;
  token?: string;
}

export interface MemberTargetOptions {
  /** Accept a stored kubeconfig's proxy-url (FLOTILLA_ALLOW_PROXY_URL). */
  allowProxyUrl?: boolean;
}

const ENDPOINT_FIELD = 'spec.connection.kubernetesAPIEndpoint';
const KUBECONFIG_FIELD = 'spec.connection.kubeconfig';

/**
 * How to reach an imported member, from its stored credentials, under the same rules as its
 * import: the context and the insecure-skip-tls-verify choice recorded in its annotations (never
 * more), and the server (kubeconfig server or kubernetesAPIEndpoint) checked by the address policy
 * (scheme, refused literals and names; names are checked again on every connection). Throws an
 * Invalid FlotillaError naming the field when the stored connection is refused.
 */
export function resolveMember(cluster: Cluster, credentials: StoredCredentials, policy: MemberAddressPolicy, options: MemberTargetOptions = {}): ResolvedKubeconfig {
  const annotations = cluster.metadata.annotations ?? {};
  if (credentials.kubeconfig) {
    const resolved = parseKubeconfig(credentials.kubeconfig, {
      context: annotations[ImportAnnotations.context] || undefined,
      allowInsecureSkipTlsVerify: annotations[ImportAnnotations.allowInsecureSkipTlsVerify] === 'true',
      allowProxyUrl: options.allowProxyUrl ?? false,
    });
    policy.checkServerForm(resolved.server, KUBECONFIG_FIELD);
    if (resolved.proxyUrl) policy.checkServerForm(resolved.proxyUrl, KUBECONFIG_FIELD, 'proxy-url', ['http:']);
    return resolved;
  }
  const endpoint = cluster.spec.connection.kubernetesAPIEndpoint;
  if (credentials.token && endpoint) {
    const url = policy.checkServerForm(endpoint, ENDPOINT_FIELD);
    return {
      contextName: '',
      clusterName: '',
      userName: '',
      server: `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`,
      insecureSkipTlsVerify: false,
      auth: { type: 'token', token: credentials.token },
    };
  }
  throw new Error('no usable credentials stored');
}

/** A prober for an imported member under the policy (health-probe). */
export function memberProber(
  cluster: Cluster,
  credentials: StoredCredentials,
  policy: MemberAddressPolicy,
  options: MemberTargetOptions & { timeoutMs: number; maxBodyBytes?: number; inventoryIntervalMs?: number; handshakes?: HandshakeGate },
): ClusterProber {
  return new ClusterProber(resolveMember(cluster, credentials, policy, options), {
    timeoutMs: options.timeoutMs,
    policy,
    ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}),
    ...(options.inventoryIntervalMs ? { inventoryIntervalMs: options.inventoryIntervalMs } : {}),
    ...(options.handshakes ? { handshakes: options.handshakes } : {}),
  });
}

/** A client for an imported member under the policy (removal, rotation, and later the proxy and federation). */
export function memberClient(cluster: Cluster, credentials: StoredCredentials, policy: MemberAddressPolicy, options: MemberTargetOptions & { timeoutMs: number; maxBodyBytes?: number }): MemberClient {
  return new MemberClient(resolveMember(cluster, credentials, policy, options), options.timeoutMs, { policy, ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}) });
}
