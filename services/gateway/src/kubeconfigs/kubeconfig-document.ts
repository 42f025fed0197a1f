import { stringify } from 'yaml';
import { CLUSTER_API_GROUP } from '@flotilla/domain';

/** The context for Flotilla's own API, in every kubeconfig Flotilla hands out. */
export const FLOTILLA_CONTEXT = 'flotilla';

export interface KubeconfigInput {
  /** FLOTILLA_EXTERNAL_URL (or the URL the caller reached), no trailing slash. */
  baseUrl: string;
  /** Member clusters, one context each; the first is the current context. */
  clusters: readonly string[];
  /** Name of the user entry (the Flotilla user). */
  userName: string;
  /** The minted token's secret: the only credential in the document. */
  token: string;
  /** PEM CA of the gateway's certificate, when it serves TLS with a private CA. */
  caPem?: string;
}

export const proxyServer = (baseUrl: string, cluster: string) => `${baseUrl}/apis/${CLUSTER_API_GROUP}/v1alpha1/clusters/${cluster}/proxy`;

/**
 * The name of a member's context (and cluster entry): the cluster's own name, except for a member
 * named `flotilla`, which would collide with the context of Flotilla's API.
 */
export const memberContextName = (cluster: string) => (cluster === FLOTILLA_CONTEXT ? `${FLOTILLA_CONTEXT}-member-${cluster}` : cluster);

/**
 * A kubeconfig with one context per member (through the proxy) and one for Flotilla's own API, all
 * sharing one user entry holding the minted token. Built as an object and serialised by the yaml
 * package, so no value (a user name, a URL) can inject YAML.
 */
export function buildKubeconfig(input: KubeconfigInput): string {
  const caData = input.caPem ? { 'certificate-authority-data': Buffer.from(input.caPem, 'utf8').toString('base64') } : {};
  const entry = (server: string) => ({ server, ...caData });
  const members = input.clusters.map((name) => ({ name: memberContextName(name), server: proxyServer(input.baseUrl, name) }));
  const all = [...members, { name: FLOTILLA_CONTEXT, server: input.baseUrl }];
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    clusters: all.map((c) => ({ name: c.name, cluster: entry(c.server) })),
    users: [{ name: input.userName, user: { token: input.token } }],
    contexts: all.map((c) => ({ name: c.name, context: { cluster: c.name, user: input.userName } })),
    'current-context': members[0]?.name ?? FLOTILLA_CONTEXT,
  });
}
