/**
 * What a Kubernetes-style request asks to do, read from its method and request target the way
 * kube-apiserver's RequestInfoFactory reads them (k8s.io/apiserver/pkg/endpoints/request), once
 * for the whole gateway: authorization of Flotilla's own API (strict variant), its audit records,
 * and the proxy's member requests (audit, the role check with impersonation off, long-lived
 * requests). Forms:
 *   /api/<version>/[namespaces/<ns>/]<resource>[/<name>[/<subresource>[/...]]]   (core group "")
 *   /apis/<group>/<version>/...                                                    (the same)
 *   /api[s]/.../watch/...  and  /api[s]/.../proxy/...                              (the old verb prefixes)
 *   namespaces/<ns>/status and namespaces/<ns>/finalize: subresources of the namespace itself
 * Anything else (/api, /apis, /apis/<group>[/<version>], /version, /openapi/v3, /healthz) is a
 * non-resource request, whose verb is the lower-case method.
 *
 * Written for the request path: one split, no URL or URLSearchParams objects, the query read only
 * for the three parameters that matter (watch, follow, fieldSelector).
 */
export interface RequestInfo {
  resourceRequest: boolean;
  /** get, list, watch, create, update, patch, delete, deletecollection (proxy for the old prefix); non-resource: the lower-case method. */
  verb: string;
  /** The path without the query (decoded segments, rejoined). */
  path: string;
  /** '' for the core group. Empty strings below mean "absent", as in kube's RequestInfo. */
  group: string;
  version: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** A watch, or a followed log: held open with no response timeout. */
  longLived: boolean;
}

/** Verbs that change nothing: the audit level and the role rules read them. */
export const READ_VERBS: ReadonlySet<string> = new Set(['get', 'list', 'watch']);

/** Subresources of the namespace object itself (kube's namespaceSubresources). */
const NAMESPACE_SUBRESOURCES: ReadonlySet<string> = new Set(['status', 'finalize']);
/** strconv.ParseBool's true spellings, as kube's parameter codec reads `watch` and `follow`. */
const TRUE: ReadonlySet<string> = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);

/** The verb of a resource request by method (kube: GET and HEAD are get; unknown methods keep their lower-case name). */
export function methodVerb(method: string): string {
  switch (method) {
    case 'GET':
    case 'HEAD':
      return 'get';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return method.toLowerCase();
  }
}

/** One query parameter's first value (decoded), or undefined; `query` is the part after `?`. */
export function queryParam(query: string, name: string): string | undefined {
  if (query === '' || !query.includes(name)) return undefined;
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (key !== name) continue;
    const raw = eq < 0 ? '' : pair.slice(eq + 1);
    try {
      return decodeURIComponent(raw.replace(/\+/g, ' '));
    } catch {
      return raw;
    }
  }
  return undefined;
}

/** `metadata.name=<x>` (or `==`) among a field selector's terms: kube takes it as the request's name. */
function nameFromFieldSelector(selector: string | undefined): string {
  if (!selector) return '';
  for (const term of selector.split(',')) {
    const m = /^\s*metadata\.name\s*==?\s*(.*?)\s*$/.exec(term);
    // kube: only a valid path segment name (not . or .., no / or %).
    if (m && m[1] && m[1] !== '.' && m[1] !== '..' && !/[/%]/.test(m[1])) return m[1];
  }
  return '';
}

function nonResource(method: string, path: string): RequestInfo {
  return { resourceRequest: false, verb: method.toLowerCase(), path, group: '', version: '', resource: '', subresource: '', namespace: '', name: '', longLived: false };
}

/** kube's NewRequestInfo on already split (and decoded) path segments. */
function classify(method: string, parts: string[], path: string, query: string): RequestInfo {
  const m = method.toUpperCase();
  if (parts.length < 3 || (parts[0] !== 'api' && parts[0] !== 'apis')) return nonResource(m, path);
  let i = 1;
  let group = '';
  if (parts[0] === 'apis') {
    if (parts.length < 4) return nonResource(m, path);
    group = parts[i++]!;
  }
  const version = parts[i++]!;
  let verb: string;
  if (parts[i] === 'watch' || parts[i] === 'proxy') {
    // The old /watch/ and /proxy/ prefixes name the verb, whatever the method.
    if (parts.length - i < 2) return nonResource(m, path);
    verb = parts[i++]!;
  } else verb = methodVerb(m);
  let namespace = '';
  if (parts[i] === 'namespaces' && parts.length - i > 1) {
    namespace = parts[i + 1]!;
    if (parts.length - i > 2 && !NAMESPACE_SUBRESOURCES.has(parts[i + 2]!)) i += 2;
  }
  const resource = parts[i] ?? '';
  let name = parts[i + 1] ?? '';
  // Everything below a subresource (a service proxy's path, say) belongs to it; the proxy verb has none.
  const subresource = verb !== 'proxy' ? (parts[i + 2] ?? '') : '';
  if (name === '' && verb === 'get') {
    verb = TRUE.has(queryParam(query, 'watch') ?? '') ? 'watch' : 'list';
    name = nameFromFieldSelector(queryParam(query, 'fieldSelector'));
  }
  if (name === '' && verb === 'delete') verb = 'deletecollection';
  const longLived = verb === 'watch' || (subresource === 'log' && TRUE.has(queryParam(query, 'follow') ?? ''));
  return { resourceRequest: true, verb, path, group, version, resource, subresource, namespace, name, longLived };
}

function splitTarget(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return q < 0 ? { path: url, query: '' } : { path: url.slice(0, q), query: url.slice(q + 1) };
}

function decoded(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * The request info of a request target (path and query) as kube-apiserver reads it: empty
 * segments at either end are ignored, segments are percent-decoded. For paths already checked
 * (the proxy's member path) and for recording (audit); authorization uses strictRequestInfo.
 */
export function requestInfo(method: string, url: string): RequestInfo {
  const { path, query } = splitTarget(url);
  let trimmed = path;
  while (trimmed.startsWith('/')) trimmed = trimmed.slice(1);
  while (trimmed.endsWith('/')) trimmed = trimmed.slice(0, -1);
  const parts = trimmed === '' ? [] : trimmed.split('/').map(decoded);
  return classify(method, parts, path, query);
}

/**
 * The request info, or undefined for a path that a router could read differently from this
 * function: dot segments (also encoded), empty segments, encoded slashes or backslashes, bad
 * percent-encoding. Authorization denies those rather than guessing. The path is given decoded
 * and rejoined (`/docs/` is `/docs`).
 */
export function strictRequestInfo(method: string, url: string): RequestInfo | undefined {
  const { path, query } = splitTarget(url);
  const raw = path.split('/').slice(1);
  if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
  const parts: string[] = [];
  for (const segment of raw) {
    if (segment === '' || /%2f|%5c/i.test(segment)) return undefined;
    let s: string;
    try {
      s = decodeURIComponent(segment);
    } catch {
      return undefined;
    }
    if (s === '.' || s === '..' || s.includes('/')) return undefined;
    parts.push(s);
  }
  return classify(method, parts, `/${parts.join('/')}`, query);
}

/** `clusters "prod"`, `clusters/kubeconfig "prod"`, `clusters`: how kube-apiserver names a resource in messages. */
export function describeResource(a: { resource: string; subresource?: string; name?: string }): string {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  return a.name ? `${resource} "${a.name}"` : resource;
}
