import { ErrorReason, FlotillaError, MAX_KUBECONFIG_BYTES } from '@flotilla/domain';
import { ParseLimitError, parseYamlDocumentsBounded } from '@flotilla/parsing';
import { MemberAddressPolicy, defaultMemberPolicy } from '../net/address-policy';
import { redactUrl } from '../net/member-text';

/** How a member cluster is reached and authenticated: all a client needs, nothing read from disk. */
export interface ResolvedKubeconfig {
  contextName: string;
  clusterName: string;
  userName: string;
  server: string;
  /** PEM of the CA that signs the server's certificate; absent means the system roots. */
  caData?: string;
  insecureSkipTlsVerify: boolean;
  tlsServerName?: string;
  proxyUrl?: string;
  auth: KubeAuth;
}

export type KubeAuth =
  | { type: 'token'; token: string }
  | { type: 'clientCertificate'; certData: string; keyData: string }
  | { type: 'basic'; username: string; password: string }
  | { type: 'none' };

export interface KubeconfigPolicy {
  /** Use this context instead of current-context. */
  context?: string;
  /** insecure-skip-tls-verify is refused unless the request explicitly allows it. */
  allowInsecureSkipTlsVerify?: boolean;
  /** proxy-url is refused unless configuration allows it. */
  allowProxyUrl?: boolean;
  /** The field the kubeconfig came from, named in errors. */
  field?: string;
}

const DEFAULT_FIELD = 'spec.connection.kubeconfig';

/** A refused kubeconfig: Invalid, naming the kubeconfig field, the path inside it, and the fix. */
export function kubeconfigError(message: string, field = DEFAULT_FIELD, reason = 'FieldValueInvalid'): FlotillaError {
  return new FlotillaError(ErrorReason.Invalid, `${field}: ${message}`, { causes: [{ reason, field, message }] });
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function decodeBase64Pem(value: unknown, where: string, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw kubeconfigError(`${where} must be base64-encoded PEM data`, field);
  const text = Buffer.from(value.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (!text.includes('-----BEGIN ')) throw kubeconfigError(`${where} is not base64 of PEM data (no "-----BEGIN" line after decoding)`, field);
  return text;
}

function named(list: unknown, kind: 'clusters' | 'users' | 'contexts', field: string): Map<string, { index: number; value: Json }> {
  const out = new Map<string, { index: number; value: Json }>();
  if (list === undefined || list === null) return out;
  if (!Array.isArray(list)) throw kubeconfigError(`${kind} must be a list`, field);
  list.forEach((entry, index) => {
    if (!isObject(entry) || typeof entry.name !== 'string' || entry.name === '') throw kubeconfigError(`${kind}[${index}] needs a name`, field);
    const inner = kind === 'clusters' ? entry.cluster : kind === 'users' ? entry.user : entry.context;
    out.set(entry.name, { index, value: isObject(inner) ? inner : {} });
  });
  return out;
}

/**
 * The one YAML document of a kubeconfig, read by the bounded parser of @flotilla/parsing: at most
 * 1 MiB, 64 levels deep and 5,000 nodes, no aliases (useless in a kubeconfig, and the root of
 * "billion laughs" bombs), so parse time is linear and no kubeconfig can exhaust a process.
 */
function readKubeconfigYaml(text: string, field: string): unknown {
  let documents: unknown[];
  try {
    documents = parseYamlDocumentsBounded(text, 'the kubeconfig', { maxBytes: MAX_KUBECONFIG_BYTES, maxDocuments: 1 });
  } catch (error) {
    if (!(error instanceof ParseLimitError)) throw error;
    switch (error.kind) {
      case 'size':
        throw kubeconfigError('is larger than 1 MiB', field, 'FieldValueTooLong');
      case 'documents':
        throw kubeconfigError(`must hold exactly one YAML document, found ${error.facts.found ?? 'more than one'}`, field);
      case 'aliases':
        throw kubeconfigError('uses YAML anchors and aliases, which are refused: write each value out in full', field);
      default:
        throw kubeconfigError(error.detail, field);
    }
  }
  if (documents.length !== 1) throw kubeconfigError(`must hold exactly one YAML document, found ${documents.length}`, field);
  return documents[0];
}

/**
 * Parses a kubeconfig under Flotilla's safety rules, before any connection is made:
 * one YAML document of at most 1 MiB with no aliases; no exec or auth-provider plugins (they
 * would run commands on the host); no file references (they would read the host's files);
 * no proxy-url or insecure-skip-tls-verify unless allowed.
 */
export function parseKubeconfig(text: string, policy: KubeconfigPolicy = {}): ResolvedKubeconfig {
  const field = policy.field ?? DEFAULT_FIELD;
  const config = readKubeconfigYaml(text, field);
  if (!isObject(config)) throw kubeconfigError('must be a YAML mapping (apiVersion: v1, kind: Config)', field);
  if (config.kind !== undefined && config.kind !== 'Config') throw kubeconfigError(`has kind "${String(config.kind)}", expected Config`, field);

  const clusters = named(config.clusters, 'clusters', field);
  const users = named(config.users, 'users', field);
  const contexts = named(config.contexts, 'contexts', field);

  let contextName = policy.context ?? (typeof config['current-context'] === 'string' ? config['current-context'] : '');
  if (!contextName) {
    if (contexts.size !== 1) {
      throw kubeconfigError(
        contexts.size === 0 ? 'has no contexts: add one naming a cluster and a user' : `has ${contexts.size} contexts and no current-context: name one (${[...contexts.keys()].join(', ')})`,
        field,
      );
    }
    contextName = [...contexts.keys()][0]!;
  }
  const context = contexts.get(contextName);
  if (!context) {
    throw kubeconfigError(`has no context named "${contextName}"; it has: ${[...contexts.keys()].join(', ') || 'none'}`, field);
  }
  const clusterName = typeof context.value.cluster === 'string' ? context.value.cluster : '';
  const userName = typeof context.value.user === 'string' ? context.value.user : '';
  const cluster = clusters.get(clusterName);
  if (!cluster) throw kubeconfigError(`context "${contextName}" names cluster "${clusterName}", which is not in clusters`, field);
  const user = userName ? users.get(userName) : undefined;
  if (userName && !user) throw kubeconfigError(`context "${contextName}" names user "${userName}", which is not in users`, field);

  const c = cluster.value;
  const cPath = `clusters[${cluster.index}].cluster`;
  if (c['certificate-authority'] !== undefined) {
    throw kubeconfigError(`${cPath}.certificate-authority is a file path, which Flotilla never reads: embed the CA as certificate-authority-data (base64 PEM)`, field);
  }
  if (typeof c.server !== 'string' || c.server === '') throw kubeconfigError(`${cPath}.server is required (https://host:port)`, field);
  let serverUrl: URL;
  try {
    serverUrl = new URL(c.server);
  } catch {
    throw kubeconfigError(`${cPath}.server "${redactUrl(c.server).slice(0, 200)}" is not a URL: use https://host:port`, field);
  }
  if (serverUrl.protocol !== 'https:' && serverUrl.protocol !== 'http:') throw kubeconfigError(`${cPath}.server must be an https:// URL`, field);
  // user:password@ in a server URL is never used, and must not reach an error, a log or a record.
  const server = `${serverUrl.protocol}//${serverUrl.host}${serverUrl.pathname.replace(/\/+$/, '')}`;
  const insecure = c['insecure-skip-tls-verify'] === true;
  if (insecure && !policy.allowInsecureSkipTlsVerify) {
    throw kubeconfigError(
      `${cPath}.insecure-skip-tls-verify is refused: give certificate-authority-data instead, or allow it explicitly (the choice is then recorded on the cluster)`,
      field,
    );
  }
  if (c['proxy-url'] !== undefined && !policy.allowProxyUrl) {
    throw kubeconfigError(`${cPath}.proxy-url is refused by this Flotilla's configuration: remove it, or ask an operator to allow proxies`, field);
  }
  const resolved: ResolvedKubeconfig = {
    contextName,
    clusterName,
    userName,
    server,
    insecureSkipTlsVerify: insecure,
    auth: { type: 'none' },
  };
  if (c['certificate-authority-data'] !== undefined) resolved.caData = decodeBase64Pem(c['certificate-authority-data'], `${cPath}.certificate-authority-data`, field);
  if (typeof c['tls-server-name'] === 'string') resolved.tlsServerName = c['tls-server-name'];
  if (typeof c['proxy-url'] === 'string') resolved.proxyUrl = c['proxy-url'];

  if (user) {
    const u = user.value;
    const uPath = `users[${user.index}].user`;
    if (u.exec !== undefined) {
      throw kubeconfigError(
        `${uPath}.exec is an exec credential plugin, which would run a command on the Flotilla host: it is refused. Use a token or client certificate; for EKS, see the service-account path in docs/import.md`,
        field,
      );
    }
    if (u['auth-provider'] !== undefined) {
      throw kubeconfigError(`${uPath}.auth-provider is refused (it runs provider code on the Flotilla host): use a token or client certificate`, field);
    }
    for (const key of ['client-certificate', 'client-key', 'tokenFile', 'token-file']) {
      if (u[key] !== undefined) {
        throw kubeconfigError(`${uPath}.${key} is a file path, which Flotilla never reads: embed the value (client-certificate-data, client-key-data, token)`, field);
      }
    }
    if (typeof u.token === 'string' && u.token !== '') resolved.auth = { type: 'token', token: u.token };
    else if (u['client-certificate-data'] !== undefined || u['client-key-data'] !== undefined) {
      resolved.auth = {
        type: 'clientCertificate',
        certData: decodeBase64Pem(u['client-certificate-data'], `${uPath}.client-certificate-data`, field),
        keyData: decodeBase64Pem(u['client-key-data'], `${uPath}.client-key-data`, field),
      };
    } else if (typeof u.username === 'string' && typeof u.password === 'string') {
      resolved.auth = { type: 'basic', username: u.username, password: u.password };
    }
  }
  return resolved;
}

/**
 * Refuses a server the member address policy refuses (by its literal address, its name, or any
 * address it resolves to now), naming `field` and the fix. `policy` is a MemberAddressPolicy, or
 * (the old form) an allow-list added to the policy of this process's environment.
 */
export async function checkServerAddress(server: string, policy: MemberAddressPolicy | readonly string[] = [], field = DEFAULT_FIELD): Promise<string[]> {
  const p = policy instanceof MemberAddressPolicy ? policy : defaultMemberPolicy(policy);
  return p.checkServer(server, field);
}
