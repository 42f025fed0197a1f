import { ErrorReason, FlotillaError } from '@flotilla/domain';

/** The canonical proxy prefix (Karmada's and KubeSphere's shape) and KubeSphere's short alias. */
export const PROXY_PREFIX = '/apis/cluster.kubesphere.io/v1alpha1/clusters/';
export const ALIAS_PREFIX = '/clusters/';

/** The longest request target (path and query) the proxy accepts. */
export const MAX_PROXY_URL_BYTES = 8 * 1024;

/** Where a proxied request goes: the cluster and the member's request target (path and query). */
export interface ProxyTarget {
  cluster: string;
  /** Starts with `/`; the query is kept as the caller wrote it. */
  memberPath: string;
  /** The path part of memberPath, without the query. */
  pathname: string;
}

const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const bad = (message: string) => new FlotillaError(ErrorReason.BadRequest, message);

/**
 * The cluster and the rest of a proxy URL, or undefined when the URL is not a proxy path (it is
 * then Flotilla's own API). Works on the raw request target, before any decoding.
 *  - `/apis/cluster.kubesphere.io/v1alpha1/clusters/{name}/proxy[/...]`
 *  - `/clusters/{name}[/...]`
 */
export function matchProxyPath(url: string): { cluster: string; rest: string } | undefined {
  let tail: string;
  let marker: string;
  if (url.startsWith(PROXY_PREFIX)) {
    tail = url.slice(PROXY_PREFIX.length);
    marker = '/proxy';
  } else if (url.startsWith(ALIAS_PREFIX)) {
    tail = url.slice(ALIAS_PREFIX.length);
    marker = '';
  } else return undefined;
  let slash = 0;
  while (slash < tail.length && tail[slash] !== '/' && tail[slash] !== '?') slash++;
  if (slash === tail.length) slash = -1;
  const cluster = slash < 0 ? tail : tail.slice(0, slash);
  const after = slash < 0 ? '' : tail.slice(slash);
  if (!after.startsWith(marker)) return undefined;
  const rest = after.slice(marker.length);
  // `/proxy` must end there: `/proxyfoo` is not the proxy subresource.
  if (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?')) return undefined;
  return { cluster, rest };
}

/**
 * The checks on the member path (hostile-request rules). The member decodes the path once; no
 * spelling may reach past the member API's own root or into another proxy:
 *  - `..` and `.` segments, also percent-encoded (`%2e%2e`), are path traversal;
 *  - encoded slashes and backslashes (`%2f`, `%5c`, `\`) and encoded percent signs (`%25`, a
 *    second round of decoding) hide separators from this check;
 *  - NUL (`%00`) anywhere; empty segments (`//`), which some servers collapse;
 *  - a second proxy: `/proxy/...` straight after the cluster, or another Flotilla cluster proxy.
 */
function checkMemberPath(pathname: string): void {
  if (/%(00|2f|5c|25)/i.test(pathname) || pathname.includes('\\')) {
    throw bad('the proxied path holds an encoded slash, backslash, percent sign or NUL (%2f, %5c, %25, %00), which could hide path traversal: write the path plainly');
  }
  const segments = pathname.split('/').slice(1);
  for (const [i, raw] of segments.entries()) {
    const segment = raw.replace(/%2e/gi, '.');
    if (segment === '.' || segment === '..') throw bad('the proxied path holds a "." or ".." segment (path traversal), which is refused: give the member path without it');
    if (segment === '' && i < segments.length - 1) throw bad('the proxied path holds an empty segment ("//"), which is refused');
  }
  if (segments[0] === 'proxy' || /\/clusters\/[^/]+\/proxy(\/|$)/.test(pathname)) {
    throw bad('the proxied path names another proxy ("/proxy/..."): Flotilla does not chain proxies; send the member path once');
  }
}

/**
 * Parses and checks a proxy request target. Throws a BadRequest FlotillaError naming what is
 * wrong. `url` is the raw request target (`req.url`), never a decoded path.
 */
export function parseProxyTarget(url: string): ProxyTarget | undefined {
  const match = matchProxyPath(url);
  if (!match) return undefined;
  if (Buffer.byteLength(url, 'utf8') > MAX_PROXY_URL_BYTES) throw bad(`the request target is longer than ${MAX_PROXY_URL_BYTES} bytes, the most the proxy accepts`);
  if (url.includes('\0') || /%00/.test(url)) throw bad('the request target holds a NUL byte (%00), which is refused');
  if (!CLUSTER_NAME.test(match.cluster)) throw bad(`"${match.cluster.slice(0, 64)}" is not a cluster name: a DNS-1123 label (lower case letters, digits and "-") is expected`);
  const q = match.rest.indexOf('?');
  const pathname = (q < 0 ? match.rest : match.rest.slice(0, q)) || '/';
  const search = q < 0 ? '' : match.rest.slice(q);
  checkMemberPath(pathname);
  return { cluster: match.cluster, memberPath: `${pathname}${search}`, pathname };
}
