/**
 * What the server says about itself: /version, discovery (/api, /apis, group and group-version
 * resource lists), OpenAPI v3 (index and per-group-version documents) and the OIDC issuer document.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { VirtualCluster } from '../cluster/cluster';
import { SA_ISSUER } from '../cluster/service-account-tokens';
import { ApiError } from '../api/errors';
import { docHash, groupVersionDoc, gvPath, openApiIndex } from '../api/openapi';
import { apiGroupEntry, apiResourceList } from '../api/resources';
import { send, sendPageNotFound, sendText } from './wire';

/** Answers a discovery path; false when `p` (without a trailing slash) is not one. */
export function serveDiscovery(c: VirtualCluster, req: IncomingMessage, res: ServerResponse, p: string): boolean {
  if (p === '/version') {
    const m = c.gitVersion.match(/^v(\d+)\.(\d+)/);
    send(res, 200, {
      major: m?.[1] ?? '1',
      minor: m?.[2] ?? '30',
      gitVersion: c.gitVersion,
      gitCommit: 'd2e245fcc3f3d67b3bbedfe317ad0106f1b23f5d',
      gitTreeState: 'clean',
      buildDate: c.startedAt.toISOString().replace(/\.\d+Z$/, 'Z'),
      goVersion: 'go1.22.5',
      compiler: 'gc',
      platform: 'linux/amd64',
    });
    return true;
  }
  if (p === '/api') {
    send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${c.port}` }] });
    return true;
  }
  if (p === '/apis') {
    const accept = req.headers.accept ?? '';
    const types = accept.split(',').map((t) => t.trim());
    if (accept && !types.some((t) => t === '*/*' || t.startsWith('application/json') && !t.includes('apidiscovery') || t.startsWith('application/yaml') || t.startsWith('application/vnd.kubernetes.protobuf') && !t.includes('apidiscovery')))
      throw new ApiError(406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf');
    send(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: c.groups().filter((g) => g.group !== '').map((g) => apiGroupEntry(g.group, g.versions)) });
    return true;
  }
  const parts = p.split('/').filter(Boolean);
  if (parts[0] === 'api' && parts[1] === 'v1' && parts.length === 2) {
    send(res, 200, apiResourceList('', 'v1', c.allResources().filter((d) => d.group === '' && d.version === 'v1')));
    return true;
  }
  if (parts[0] === 'apis' && parts.length === 2) {
    const g = c.groups().find((x) => x.group === parts[1]);
    if (!g) sendPageNotFound(res);
    else send(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...apiGroupEntry(g.group, g.versions) });
    return true;
  }
  if (parts[0] === 'apis' && parts.length === 3) {
    const defs = c.allResources().filter((d) => d.group === parts[1] && d.version === parts[2]);
    if (defs.length === 0) sendPageNotFound(res);
    else send(res, 200, apiResourceList(parts[1], parts[2], defs));
    return true;
  }
  if (parts[0] === 'openapi' && parts[1] === 'v3') {
    serveOpenApi(c, res, parts.slice(2).join('/'));
    return true;
  }
  if (p === '/.well-known/openid-configuration') {
    send(res, 200, { issuer: SA_ISSUER, jwks_uri: `https://127.0.0.1:${c.port}/openid/v1/jwks`, response_types_supported: ['id_token'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['HS256'] });
    return true;
  }
  return false;
}

/** OpenAPI documents depend only on the version and the (immutable) built-in schemas: shared. */
const openApiCache = new Map<string, { body: string; hash: string }>();

function gvDoc(c: VirtualCluster, group: string, version: string): { body: string; hash: string } {
  const defs = c.allResources().filter((d) => d.group === group && d.version === version);
  const custom = defs.some((d) => d.custom);
  const key = `${c.gitVersion}|${group}/${version}`;
  if (!custom) {
    const hit = openApiCache.get(key);
    if (hit) return hit;
  }
  const body = JSON.stringify(groupVersionDoc(c.gitVersion, group, version, defs));
  const out = { body, hash: docHash(body) };
  if (!custom) openApiCache.set(key, out);
  return out;
}

function serveOpenApi(c: VirtualCluster, res: ServerResponse, rest: string): void {
  if (rest === '') {
    const entries = c.groups().flatMap((g) => g.versions.map((v) => ({ path: gvPath(g.group, v), hash: gvDoc(c, g.group, v).hash })));
    return sendText(res, 200, JSON.stringify(openApiIndex(entries)));
  }
  const parts = rest.split('/');
  const group = parts[0] === 'api' ? '' : (parts[1] ?? '');
  const version = parts[0] === 'api' ? parts[1] : parts[2];
  if (!version || !c.groups().some((g) => g.group === group && g.versions.includes(version))) return sendPageNotFound(res);
  const doc = gvDoc(c, group, version);
  sendText(res, 200, doc.body, 'application/json', { Etag: `"${doc.hash}"`, 'Cache-Control': 'public, immutable' });
}
