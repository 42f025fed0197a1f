import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

/** Where the server's CA comes from: its PEM text, or a PEM file (embedded, so the kubeconfig stands alone). */
export type KubeconfigCa = { caPem: string; caFile?: never } | { caFile: string; caPem?: never };

export type TokenKubeconfigOptions = KubeconfigCa & {
  /** The API's base URL, e.g. a test gateway's https://127.0.0.1:<port> (kubectl sends a token only over HTTPS). */
  server: string;
  /** The bearer token kubectl sends. Written to the file only, never into an error. */
  token: string;
  /** The name of the cluster and of the context, which is made current (default `flotilla`). */
  context?: string;
  /** The name of the user entry (default `admin`). */
  user?: string;
  /** Where to write it (mode 0600); default: `config` in a new temporary folder. */
  path?: string;
};

/**
 * Writes a kubeconfig for a real kubectl in tests: one cluster (the server and its CA as
 * certificate-authority-data), one user with a bearer token, one context naming both, made current.
 * Returns the file's path.
 */
export function writeTokenKubeconfig(options: TokenKubeconfigOptions): string {
  const { server, token, context = 'flotilla', user = 'admin' } = options;
  let url: URL | undefined;
  try {
    url = new URL(server);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new Error(`writeTokenKubeconfig: server must be an http(s) URL such as https://127.0.0.1:8443, got ${JSON.stringify(server)}`);
  }
  if (!token) throw new Error('writeTokenKubeconfig: token is empty; pass the bearer token kubectl should send (e.g. platform.adminToken)');
  if ((options.caPem === undefined) === (options.caFile === undefined)) {
    throw new Error('writeTokenKubeconfig: give exactly one of caPem (the CA certificate as PEM text) or caFile (a PEM file, e.g. platform.gatewayTls.ca)');
  }
  let caPem: string;
  if (options.caFile !== undefined) {
    try {
      caPem = readFileSync(options.caFile, 'utf8');
    } catch (error) {
      throw new Error(`writeTokenKubeconfig: caFile ${options.caFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); pass an existing PEM file`);
    }
  } else caPem = options.caPem!;
  if (!caPem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new Error('writeTokenKubeconfig: the CA is not a PEM certificate (no "-----BEGIN CERTIFICATE-----"); pass the CA certificate, not a key or a path as caPem');
  }
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: context, cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: context, context: { cluster: context, user } }],
    'current-context': context,
  };
  const path = options.path ?? join(mkdtempSync(join(tmpdir(), 'flotilla-kubeconfig-')), 'config');
  writeFileSync(path, stringify(doc), { mode: 0o600 });
  return path;
}
