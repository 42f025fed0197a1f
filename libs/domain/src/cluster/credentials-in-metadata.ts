import { parseJsonBounded, parseYamlBounded } from '@flotilla/parsing';
import { ClusterErrors } from '../errors/cluster-errors';
import type { ErrorCause } from '../errors/flotilla-error';
import { CLUSTER_API_VERSION, ClusterCredentials } from './cluster';
import { decodeKubeconfig } from './cluster-validation';

/** The write-only credential fields of a Cluster, under spec.connection. */
export const CLUSTER_CREDENTIAL_FIELDS = ['kubeconfig', 'token'] as const;

/** kubectl's annotation holding the whole object as last applied (credentials included, as kubectl sent it). */
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** The one door for a cluster's credentials: the endpoint that runs the guard and the same-member check. */
export const credentialDoor = (name: string): string => `PUT /apis/${CLUSTER_API_VERSION}/clusters/${name}/kubeconfig`;

/** A JWT, as Kubernetes service-account and OIDC bearer tokens are. */
const JWT = /^eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*$/;
/** A known secret is looked for inside values only from this length, so short common strings never match. */
const MIN_SECRET_CHARS = 16;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The secrets a cluster's credentials hold, to look for elsewhere in the object: the kubeconfig
 * text, the token, and the tokens, passwords and client keys inside the kubeconfig.
 */
export function credentialSecrets(credentials: ClusterCredentials): string[] {
  const out = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v === 'string' && v.trim().length >= MIN_SECRET_CHARS) out.add(v.trim());
  };
  add(credentials.token);
  if (credentials.kubeconfig) {
    add(credentials.kubeconfig);
    const parsed = tryParse(credentials.kubeconfig, 'yaml');
    const users = isObject(parsed) && Array.isArray(parsed.users) ? parsed.users : [];
    for (const entry of users) {
      const user = isObject(entry) && isObject(entry.user) ? entry.user : {};
      for (const key of ['token', 'password', 'client-key-data']) add(user[key]);
    }
  }
  return [...out];
}

function tryParse(text: string, as: 'json' | 'yaml'): unknown {
  try {
    return as === 'json' ? parseJsonBounded(text, 'an annotation') : parseYamlBounded(text, 'an annotation');
  } catch {
    return undefined;
  }
}

/** Whether a text is a kubeconfig (YAML or base64 YAML): a document of kind Config, or with clusters and users. */
function isKubeconfig(text: string): boolean {
  const decoded = decodeKubeconfig(text.trim());
  if (!/\b(clusters|users|kind)\s*:/.test(decoded) && !/"(clusters|users|kind)"\s*:/.test(decoded)) return false;
  const doc = tryParse(decoded, 'yaml');
  return isObject(doc) && (doc.kind === 'Config' || (Array.isArray(doc.clusters) && Array.isArray(doc.users)));
}

/** Why a string value is itself a credential, or undefined. Never says what the value is. */
function credentialIn(value: string, secrets: readonly string[]): string | undefined {
  const v = value.trim();
  if (v.length === 0) return undefined;
  if (JWT.test(v)) return 'a bearer token (JWT)';
  if (v.length >= 20 && isKubeconfig(v)) return 'a kubeconfig';
  if (secrets.some((s) => v.includes(s))) return "this cluster's own credential";
  return undefined;
}

/**
 * Removes every Cluster credential field (spec.connection.kubeconfig and .token, or those names
 * under any `connection`) from a parsed document, wherever it nests (a Cluster, a List of them, a
 * fragment). Returns the dotted paths it removed.
 */
function stripCredentialFields(doc: unknown, path: string, removed: string[]): void {
  if (Array.isArray(doc)) {
    doc.forEach((item, i) => stripCredentialFields(item, `${path}[${i}]`, removed));
    return;
  }
  if (!isObject(doc)) return;
  for (const key of Object.keys(doc)) {
    const at = path ? `${path}.${key}` : key;
    if (key === 'connection' && isObject(doc[key])) {
      const connection = doc[key] as Json;
      for (const field of CLUSTER_CREDENTIAL_FIELDS) {
        if (Object.prototype.hasOwnProperty.call(connection, field)) {
          delete connection[field];
          removed.push(`${at}.${field}`);
        }
      }
    }
    stripCredentialFields(doc[key], at, removed);
  }
}

/** Every string leaf of a parsed document, with its path. */
function stringLeaves(doc: unknown, path: string, out: [string, string][]): void {
  if (typeof doc === 'string') out.push([path, doc]);
  else if (Array.isArray(doc)) doc.forEach((item, i) => stringLeaves(item, `${path}[${i}]`, out));
  else if (isObject(doc)) for (const [k, v] of Object.entries(doc)) stringLeaves(v, path ? `${path}.${k}` : k, out);
}

export interface MetadataScrub {
  /** The annotations to store: credential fields stripped from JSON and YAML values. */
  annotations?: Record<string, string>;
  /** One line per annotation that was changed: what was stripped and why (for Warning headers). */
  warnings: string[];
}

function forbidden(field: string, what: string, name: string): ErrorCause {
  return {
    reason: 'FieldValueForbidden',
    field,
    message: `Forbidden: holds ${what}; labels and annotations are stored and shown in plain text and never hold a credential: remove it, and change credentials with ${credentialDoor(name)}`,
  };
}

/**
 * Keeps credentials out of a cluster's labels and annotations (issue 12).
 * - An annotation whose value is a JSON or YAML document (kubectl's last-applied-configuration, a
 *   KubeSphere export, any other) has every Cluster credential field stripped; a warning says which.
 * - A label or annotation whose value IS a credential (a kubeconfig, plain or base64; a JWT bearer
 *   token; or holding one of `secrets`, the cluster's own credentials) is refused: Invalid, with a
 *   FieldValueForbidden cause naming it. What the value is never appears in the error.
 * Values are unchanged (byte for byte) unless something is stripped.
 */
export function scrubCredentialsFromMetadata(
  name: string,
  labels: Record<string, string> | undefined,
  annotations: Record<string, string> | undefined,
  secrets: readonly string[] = [],
): MetadataScrub {
  const causes: ErrorCause[] = [];
  const warnings: string[] = [];
  for (const [key, value] of Object.entries(labels ?? {})) {
    const what = credentialIn(value, secrets);
    if (what) causes.push(forbidden(`metadata.labels[${key}]`, what, name));
  }
  let out: Record<string, string> | undefined;
  if (annotations) {
    out = {};
    for (const [key, value] of Object.entries(annotations)) {
      const field = `metadata.annotations[${key}]`;
      const trimmed = value.trim();
      const json = trimmed.startsWith('{') || trimmed.startsWith('[');
      // A structured value: JSON, or YAML of more than one line (a one-line plain string is left as text).
      const doc = json ? tryParse(value, 'json') : /\n/.test(trimmed) && /:/.test(trimmed) ? tryParse(value, 'yaml') : undefined;
      let stored = value;
      if ((isObject(doc) || Array.isArray(doc)) && !isKubeconfig(value)) {
        const removed: string[] = [];
        stripCredentialFields(doc, '', removed);
        if (removed.length > 0) {
          // kubectl writes last-applied-configuration with a trailing newline; keeping it means the next
          // `kubectl apply` of the same (credential-free) file finds nothing to change.
          stored = json ? `${JSON.stringify(doc)}${/\n$/.test(value) ? '\n' : ''}` : stringifyYaml(doc);
          warnings.push(
            `metadata.annotations[${key}]: removed ${removed.join(', ')} before storing: annotations are stored and shown in plain text, and credentials are write-only (change them with ${credentialDoor(name)})`,
          );
        }
        const leaves: [string, string][] = [];
        stringLeaves(doc, '', leaves);
        const leak = leaves.map(([, v]) => credentialIn(v, secrets)).find(Boolean);
        if (leak) causes.push(forbidden(field, leak, name));
      } else {
        const what = credentialIn(value, secrets);
        if (what) causes.push(forbidden(field, what, name));
      }
      out[key] = stored;
    }
  }
  if (causes.length > 0) throw ClusterErrors.invalid(name, causes);
  return { annotations: out, warnings };
}

/** YAML out, block style: only for an annotation that came in as YAML and lost a credential field. */
function stringifyYaml(doc: unknown): string {
  // JSON is valid YAML 1.2: a value that was YAML stays parseable as YAML, with nothing lost.
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** RFC 6901: one reference token, unescaped. */
const unescapePointer = (token: string) => token.replace(/~1/g, '/').replace(/~0/g, '~');

/**
 * Applies scrubCredentialsFromMetadata to the labels and annotations a patch writes, before the
 * patch is applied: a merge patch's metadata maps, and the values of a JSON patch's add and replace
 * ops that land in metadata (one entry, the map, metadata, or the whole object). Returns the patch
 * to apply (the same object when nothing was stripped) and the warnings. Throws Invalid like
 * scrubCredentialsFromMetadata. The registry scrubs the patched object again before storing it.
 */
export function scrubCredentialsFromPatch(name: string, patchType: 'merge' | 'json', patch: unknown): { patch: unknown; warnings: string[] } {
  const warnings: string[] = [];
  /** Scrubs the metadata maps of `meta` in place (nulls, which a merge patch uses to delete, are left alone). */
  const scrubMeta = (meta: unknown) => {
    if (!isObject(meta)) return;
    const strings = (m: unknown) => (isObject(m) ? (Object.fromEntries(Object.entries(m).filter(([, v]) => typeof v === 'string')) as Record<string, string>) : undefined);
    const labels = strings(meta.labels);
    const annotations = strings(meta.annotations);
    const result = scrubCredentialsFromMetadata(name, labels, annotations);
    if (result.warnings.length > 0 && isObject(meta.annotations)) {
      Object.assign(meta.annotations, result.annotations);
      warnings.push(...result.warnings);
    }
  };
  if (patchType === 'merge') {
    if (isObject(patch)) scrubMeta(patch.metadata);
    return { patch, warnings };
  }
  if (!Array.isArray(patch)) return { patch, warnings };
  for (const op of patch) {
    if (!isObject(op) || (op.op !== 'add' && op.op !== 'replace') || typeof op.path !== 'string') continue;
    const tokens = op.path === '' ? [] : op.path.split('/').slice(1).map(unescapePointer);
    if (tokens.length === 0 && isObject(op.value)) scrubMeta(op.value.metadata);
    else if (tokens.length === 1 && tokens[0] === 'metadata') scrubMeta(op.value);
    else if (tokens.length === 2 && tokens[0] === 'metadata' && (tokens[1] === 'labels' || tokens[1] === 'annotations')) {
      const holder: Json = { [tokens[1]]: op.value };
      scrubMeta(holder);
      op.value = holder[tokens[1]];
    } else if (tokens.length === 3 && tokens[0] === 'metadata' && (tokens[1] === 'labels' || tokens[1] === 'annotations') && typeof op.value === 'string') {
      const holder: Json = { [tokens[1]]: { [tokens[2]!]: op.value } };
      scrubMeta(holder);
      op.value = (holder[tokens[1]] as Json)[tokens[2]!];
    }
  }
  return { patch, warnings };
}
