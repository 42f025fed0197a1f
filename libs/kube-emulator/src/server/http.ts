/** The HTTP face of a virtual cluster: routing, authentication, authorization, encoding, watch. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { VirtualCluster, HealthEndpoint } from '../cluster';
import { SA_ISSUER } from '../cluster';
import type { WriteOptions } from '../api/apiserver';
import { ApiError, badRequest, forbidden, notFound, statusForCode, unauthorized } from '../api/errors';
import { isObject, obj, str, type JsonObject, type JsonValue } from '../api/json';
import { authorize, forbiddenReason, rulesFor, type Attributes, type UserInfo } from '../api/rbac';
import { apiGroupEntry, apiResourceList, groupVersion, isVirtualResource, type ResourceDef } from '../api/resources';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../api/selectors';
import { partialMetadata, toTable, type IncludeObject } from '../api/tables';
import { docHash, groupVersionDoc, gvPath, openApiIndex } from '../api/openapi';
import { toFieldSet, toFieldsV1 } from '../api/fieldset';
import { BUILTIN_SCHEMAS } from '../api/schema';
import { nowTimestamp } from '../api/managed';
import type { StoreEvent } from '../api/store';
import { decodeKubernetesProtobuf } from '../api/protobuf';

const MAX_BODY = 3 * 1024 * 1024;

export interface RequestInfo {
  resourceRequest: boolean;
  path: string;
  verb: string;
  apiPrefix?: 'api' | 'apis';
  group: string;
  version?: string;
  namespace?: string;
  resource?: string;
  name?: string;
  subresource?: string;
}

export function parseRequestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const parts = path.split('/').filter((p) => p !== '');
  const base: RequestInfo = { resourceRequest: false, path, verb: method.toLowerCase(), group: '' };
  if (parts[0] !== 'api' && parts[0] !== 'apis') return { ...base, verb: method === 'HEAD' ? 'get' : method.toLowerCase() };
  let rest: string[];
  let group = '';
  let version: string | undefined;
  if (parts[0] === 'api') {
    version = parts[1];
    rest = parts.slice(2);
  } else {
    group = parts[1] ?? '';
    version = parts[2];
    rest = parts.slice(3);
  }
  if (!version || rest.length === 0) return { ...base, verb: 'get', apiPrefix: parts[0] as 'api' | 'apis', group, version };
  const info: RequestInfo = { resourceRequest: true, path, verb: '', apiPrefix: parts[0] as 'api' | 'apis', group, version };
  if (rest[0] === 'namespaces') {
    if (rest.length > 1) {
      info.namespace = rest[1];
      if (rest.length > 2 && rest[2] !== 'status' && rest[2] !== 'finalize') rest = rest.slice(2);
    }
  }
  info.resource = rest[0];
  info.name = rest[1];
  info.subresource = rest[2];
  if (info.resource === 'namespaces' && info.name) info.namespace = info.name;
  const watch = query.get('watch') === 'true' || query.get('watch') === '1';
  switch (method) {
    case 'GET':
    case 'HEAD':
      info.verb = watch ? 'watch' : info.name ? 'get' : 'list';
      break;
    case 'POST':
      info.verb = 'create';
      break;
    case 'PUT':
      info.verb = 'update';
      break;
    case 'PATCH':
      info.verb = 'patch';
      break;
    case 'DELETE':
      info.verb = info.name ? 'delete' : 'deletecollection';
      break;
    default:
      info.verb = method.toLowerCase();
  }
  return info;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function readBody(req: IncomingMessage): Promise<string> {
  return readBuffer(req).then((b) => b.toString('utf8'));
}

function readBuffer(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The alternative representations a read can be asked for with `;as=` (the server's content negotiation). */
type AsKind = 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList';

/**
 * Picks the first media type of Accept that this read can serve, as kube-apiserver does: `as=Table`,
 * `as=PartialObjectMetadata` (get, watch) or `as=PartialObjectMetadataList` (list) in group meta.k8s.io,
 * or a plain type (''). None servable: 406 NotAcceptable, like the real server.
 */
function negotiateAs(accept: string | undefined, allowed: AsKind[]): AsKind | '' {
  if (!accept) return '';
  for (const clause of accept.split(',')) {
    const [type = '', ...params] = clause.split(';').map((x) => x.trim());
    const param = (k: string) => params.find((x) => x.startsWith(`${k}=`))?.slice(k.length + 1);
    const as = param('as');
    if (!as) {
      if (type === '*/*' || type === 'application/*' || type === 'application/json' || type === 'application/yaml' || type === 'application/vnd.kubernetes.protobuf') return '';
      continue;
    }
    if (param('g') !== 'meta.k8s.io' || !allowed.includes(as as AsKind)) continue;
    const v = param('v');
    if (as === 'Table' ? v === 'v1' || v === 'v1beta1' : v === 'v1') return as as AsKind;
  }
  throw new ApiError(406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf');
}

function send(res: ServerResponse, code: number, body: JsonValue, warnings: string[] = [], extra: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  const headers: Record<string, string | string[]> = {
    'Audit-Id': randomUUID(),
    'Cache-Control': 'no-cache, private',
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    ...extra,
  };
  if (warnings.length) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, headers);
  res.end(text);
}

function sendText(res: ServerResponse, code: number, text: string, contentType = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void {
  res.writeHead(code, { 'Audit-Id': randomUUID(), 'Cache-Control': 'no-cache, private', 'Content-Type': contentType, 'X-Content-Type-Options': 'nosniff', 'Content-Length': String(Buffer.byteLength(text)), ...extra });
  res.end(text);
}

function sendError(res: ServerResponse, err: ApiError): void {
  send(res, err.code, err.toStatus(), [], err.headers ?? {});
}

const READYZ_CHECKS = [
  'ping', 'log', 'etcd', 'etcd-readiness', 'informer-sync', 'poststarthook/start-kube-apiserver-admission-initializer', 'poststarthook/generic-apiserver-start-informers',
  'poststarthook/priority-and-fairness-config-consumer', 'poststarthook/priority-and-fairness-filter', 'poststarthook/storage-object-count-tracker-hook', 'poststarthook/start-apiextensions-informers',
  'poststarthook/start-apiextensions-controllers', 'poststarthook/crd-informer-synced', 'poststarthook/bootstrap-controller', 'poststarthook/rbac/bootstrap-roles',
  'poststarthook/scheduling/bootstrap-system-priority-classes', 'poststarthook/priority-and-fairness-config-producer', 'poststarthook/start-cluster-authentication-info-controller',
  'poststarthook/start-kube-apiserver-identity-lease-controller', 'poststarthook/start-kube-apiserver-identity-lease-garbage-collector', 'poststarthook/start-legacy-token-tracking-controller',
  'poststarthook/start-kube-aggregator-informers', 'poststarthook/apiservice-registration-controller', 'poststarthook/apiservice-status-available-controller',
  'poststarthook/apiservice-wait-for-first-sync', 'poststarthook/kube-apiserver-autoregistration', 'autoregister-completion', 'poststarthook/apiservice-openapi-controller',
  'poststarthook/apiservice-openapiv3-controller', 'shutdown',
];

function healthBody(kind: HealthEndpoint, ok: boolean, verbose: boolean): string {
  const checks = kind === 'readyz' ? READYZ_CHECKS : READYZ_CHECKS.filter((c) => c !== 'etcd-readiness' && c !== 'informer-sync' && c !== 'shutdown');
  if (!verbose && ok) return 'ok';
  const lines = checks.map((c) => (c === 'etcd' && !ok ? '[-]etcd failed: reason withheld' : `[+]${c} ok`));
  return `${lines.join('\n')}\n${kind} check ${ok ? 'passed' : 'failed'}\n`;
}

/** OpenAPI documents depend only on the version and the (immutable) built-in schemas: shared. */
const openApiCache = new Map<string, { body: string; hash: string }>();

export class ClusterHttp {
  constructor(private readonly cluster: VirtualCluster) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const c = this.cluster;
    if (c.mode === 'hang') return; // never answer
    if (c.latencyMs > 0) await sleep(c.latencyMs);
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const path = url.pathname;
    try {
      for (const rule of c.errorRules) {
        const hit = rule.regex ? rule.regex.test(path) : path.startsWith(rule.pathPrefix ?? '/');
        if (hit && Math.random() < rule.rate) throw statusForCode(rule.code, rule.message);
      }
      const user = this.authenticate(req);
      const info = parseRequestInfo(req.method ?? 'GET', path, url.searchParams);
      const attrs: Attributes = info.resourceRequest
        ? { verb: info.verb, resourceRequest: true, group: info.group, resource: info.resource, subresource: info.subresource, namespace: info.namespace, name: info.name }
        : { verb: info.verb, resourceRequest: false, path };
      const decision = authorize(c.materialized || info.resourceRequest ? c.api().store : undefined, user, attrs);
      if (!decision.allowed) {
        if (!info.resourceRequest) throw new ApiError(403, 'Forbidden', `forbidden: ${forbiddenReason(user, attrs)}`, {});
        const err = forbidden(info.subresource ? `${info.resource}/${info.subresource}` : (info.resource ?? ''), info.group, info.name, forbiddenReason(user, attrs));
        throw err;
      }
      if (!info.resourceRequest) return this.nonResource(req, res, path, url.searchParams);
      await this.resource(req, res, info, url.searchParams, user);
    } catch (e) {
      if (e instanceof ApiError) sendError(res, e);
      else {
        const err = statusForCode(500, `Internal error occurred: ${(e as Error).message}`);
        sendError(res, err);
      }
    }
  }

  private authenticate(req: IncomingMessage): UserInfo {
    const c = this.cluster;
    const auth = req.headers.authorization;
    if (auth && /^bearer /i.test(auth)) {
      const user = c.authenticateToken(auth.slice(7).trim());
      if (!user) throw unauthorized();
      return user;
    }
    const sock = req.socket as TLSSocket;
    if (typeof sock.getPeerCertificate === 'function' && sock.authorized) {
      const cert = sock.getPeerCertificate();
      if (cert && cert.subject) {
        const cn = Array.isArray(cert.subject.CN) ? cert.subject.CN[0] : cert.subject.CN;
        const o = cert.subject.O;
        const orgs = o === undefined ? [] : Array.isArray(o) ? o : [o];
        const user = c.userForCertificate(cn ?? '', orgs);
        if (!user) throw unauthorized();
        return user;
      }
    }
    return { username: 'system:anonymous', groups: ['system:unauthenticated'] };
  }

  // ---- non-resource endpoints -------------------------------------------------------------------
  private nonResource(req: IncomingMessage, res: ServerResponse, path: string, q: URLSearchParams): void {
    const c = this.cluster;
    const p = path.replace(/\/$/, '') || '/';
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
      return;
    }
    const health = p.slice(1).split('/')[0] as HealthEndpoint;
    if (health === 'readyz' || health === 'livez' || health === 'healthz') {
      const h = c.health[health];
      if (h.notFound) return sendText(res, 404, '404 page not found\n');
      const verbose = q.has('verbose');
      return sendText(res, h.ok ? 200 : 500, healthBody(health, h.ok, verbose));
    }
    if (p === '/api') {
      return send(res, 200, { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `127.0.0.1:${c.port}` }] });
    }
    if (p === '/apis') {
      const accept = req.headers.accept ?? '';
      const types = accept.split(',').map((t) => t.trim());
      if (accept && !types.some((t) => t === '*/*' || t.startsWith('application/json') && !t.includes('apidiscovery') || t.startsWith('application/yaml') || t.startsWith('application/vnd.kubernetes.protobuf') && !t.includes('apidiscovery')))
        throw new ApiError(406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf');
      return send(res, 200, { kind: 'APIGroupList', apiVersion: 'v1', groups: c.groups().filter((g) => g.group !== '').map((g) => apiGroupEntry(g.group, g.versions)) });
    }
    const parts = p.split('/').filter(Boolean);
    if (parts[0] === 'api' && parts[1] === 'v1' && parts.length === 2) {
      return send(res, 200, apiResourceList('', 'v1', c.allResources().filter((d) => d.group === '' && d.version === 'v1')));
    }
    if (parts[0] === 'apis' && parts.length === 2) {
      const g = c.groups().find((x) => x.group === parts[1]);
      if (!g) return sendText(res, 404, '404 page not found\n');
      return send(res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...apiGroupEntry(g.group, g.versions) });
    }
    if (parts[0] === 'apis' && parts.length === 3) {
      const defs = c.allResources().filter((d) => d.group === parts[1] && d.version === parts[2]);
      if (defs.length === 0) return sendText(res, 404, '404 page not found\n');
      return send(res, 200, apiResourceList(parts[1], parts[2], defs));
    }
    if (parts[0] === 'openapi' && parts[1] === 'v3') return this.openApi(res, parts.slice(2).join('/'));
    if (p === '/.well-known/openid-configuration') {
      return send(res, 200, { issuer: SA_ISSUER, jwks_uri: `https://127.0.0.1:${c.port}/openid/v1/jwks`, response_types_supported: ['id_token'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['HS256'] });
    }
    sendText(res, 404, '404 page not found\n');
  }

  private gvDoc(group: string, version: string): { body: string; hash: string } {
    const c = this.cluster;
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

  private openApi(res: ServerResponse, rest: string): void {
    const c = this.cluster;
    if (rest === '') {
      const entries = c.groups().flatMap((g) => g.versions.map((v) => ({ path: gvPath(g.group, v), hash: this.gvDoc(g.group, v).hash })));
      return sendText(res, 200, JSON.stringify(openApiIndex(entries)));
    }
    const parts = rest.split('/');
    const group = parts[0] === 'api' ? '' : (parts[1] ?? '');
    const version = parts[0] === 'api' ? parts[1] : parts[2];
    if (!version || !c.groups().some((g) => g.group === group && g.versions.includes(version))) return sendText(res, 404, '404 page not found\n');
    const doc = this.gvDoc(group, version);
    sendText(res, 200, doc.body, 'application/json', { Etag: `"${doc.hash}"`, 'Cache-Control': 'public, immutable' });
  }

  // ---- resources --------------------------------------------------------------------------------
  private writeOptions(req: IncomingMessage, q: URLSearchParams): WriteOptions {
    const fv = q.get('fieldValidation');
    if (fv !== null && fv !== 'Strict' && fv !== 'Warn' && fv !== 'Ignore')
      throw badRequest(`fieldValidation parameter unsupported: ${fv}`);
    const fm = q.get('fieldManager') ?? undefined;
    if (fm !== undefined && fm.length > 128) throw badRequest('fieldManager: Too long: must have at most 128 bytes');
    const dryRun = q.getAll('dryRun');
    if (dryRun.some((d) => d !== 'All')) throw badRequest(`dryRun: Unsupported value: ${JSON.stringify(dryRun.find((d) => d !== 'All'))}: supported values: "All"`);
    return {
      fieldManager: fm,
      userAgent: req.headers['user-agent'],
      dryRun: dryRun.length > 0,
      fieldValidation: (fv as WriteOptions['fieldValidation'] | null) ?? 'Warn',
      force: q.get('force') === 'true',
    };
  }

  private async resource(req: IncomingMessage, res: ServerResponse, info: RequestInfo, q: URLSearchParams, user: UserInfo): Promise<void> {
    const c = this.cluster;
    const def = c.resolve(info.group, info.version ?? '', info.resource ?? '');
    if (!def) {
      const gvExists = c.groups().some((g) => g.group === info.group && g.versions.includes(info.version ?? ''));
      if (!gvExists) return sendText(res, 404, '404 page not found\n');
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    }
    const api = c.api();
    const ns = def.namespaced ? info.namespace : undefined;
    const sub = info.subresource;
    if (sub && !def.subresources.some((s) => s.name === sub && !s.advertisedOnly)) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    if (isVirtualResource(def)) {
      if (info.verb !== 'create') throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`, {});
      const body = await this.jsonBody(req);
      return this.virtualCreate(res, def, body, user, info);
    }
    if (def.namespaced && !info.namespace && info.verb !== 'list' && info.verb !== 'watch')
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    const name = info.name ?? '';
    switch (info.verb) {
      case 'get': {
        const o = api.get(def, ns, name);
        if (sub === 'scale') return send(res, 200, scaleOf(def, o));
        const as = negotiateAs(req.headers.accept, ['Table', 'PartialObjectMetadata']);
        if (as === 'Table') return send(res, 200, toTable(def, [o], { resourceVersion: str(obj(o.metadata)?.resourceVersion) ?? '' }, includeObject(q)));
        if (as === 'PartialObjectMetadata') return send(res, 200, partialMetadata(o));
        return send(res, 200, o);
      }
      case 'list':
        return this.list(req, res, def, ns, q);
      case 'watch':
        return this.watch(req, res, def, ns, q, name);
      case 'create': {
        if (def.resource === 'serviceaccounts' && sub === 'token') return this.tokenRequest(res, def, ns ?? '', name, await this.jsonBody(req));
        const body = await this.jsonBody(req);
        const r = api.create(def, ns, body, this.writeOptions(req, q));
        return send(res, r.code, r.body, r.warnings);
      }
      case 'update': {
        const opts = this.writeOptions(req, q);
        const body = await this.jsonBody(req);
        if (sub === 'scale') return this.updateScale(res, def, ns, name, body, opts);
        const r = api.update(def, ns, name, body, opts, sub);
        return send(res, r.code, r.body, r.warnings);
      }
      case 'patch': {
        const opts = this.writeOptions(req, q);
        const raw = await readBody(req);
        if (sub === 'scale') {
          const cur = scaleOf(def, api.get(def, ns, name));
          const spec = obj(cur.spec) ?? {};
          const patchDoc = JSON.parse(raw) as JsonObject;
          const replicas = obj(patchDoc.spec)?.replicas;
          return this.updateScale(res, def, ns, name, { ...cur, spec: { ...spec, replicas: typeof replicas === 'number' ? replicas : (spec.replicas ?? 0) } }, opts);
        }
        const r = api.patch(def, ns, name, req.headers['content-type'] ?? '', raw, opts, sub);
        return send(res, r.code, r.body, r.warnings);
      }
      case 'delete': {
        const options = (obj(await this.jsonBodyOrEmpty(req)) ?? {}) as JsonObject;
        if (q.get('propagationPolicy')) options.propagationPolicy = q.get('propagationPolicy');
        if (q.get('gracePeriodSeconds')) options.gracePeriodSeconds = Number(q.get('gracePeriodSeconds'));
        const r = api.delete(def, ns, name, options, this.writeOptions(req, q).dryRun);
        return send(res, r.code, r.body, r.warnings);
      }
      case 'deletecollection': {
        const items = this.select(def, ns, q);
        const dryRun = this.writeOptions(req, q).dryRun;
        const deleted = items.map((o) => api.delete(def, ns ?? str(obj(o.metadata)?.namespace), str(obj(o.metadata)?.name) ?? '', {}, dryRun).body);
        return send(res, 200, { kind: def.listKind, apiVersion: groupVersion(def.group, def.version), metadata: { resourceVersion: String(api.store.revision) }, items: deleted });
      }
      default:
        throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
    }
  }

  private async jsonBody(req: IncomingMessage): Promise<JsonValue> {
    const buf = await readBuffer(req);
    const ct = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim();
    if (ct === 'application/vnd.kubernetes.protobuf') {
      try {
        return decodeKubernetesProtobuf(buf);
      } catch (e) {
        throw new ApiError(415, 'UnsupportedMediaType', `the emulator cannot decode this protobuf body (${(e as Error).message}); send application/json`, {});
      }
    }
    const raw = buf.toString('utf8');
    try {
      if (ct === 'application/yaml') return parseYaml(raw) as JsonValue;
      return JSON.parse(raw) as JsonValue;
    } catch (e) {
      throw badRequest(`Object 'Kind' is missing in '${raw.slice(0, 200)}'`);
    }
  }

  private async jsonBodyOrEmpty(req: IncomingMessage): Promise<JsonValue> {
    if (req.headers['content-length'] === '0' || (!req.headers['content-length'] && !req.headers['transfer-encoding'])) {
      await readBuffer(req);
      return {};
    }
    return this.jsonBody(req);
  }

  private select(def: ResourceDef, ns: string | undefined, q: URLSearchParams): JsonObject[] {
    const ls = parseLabelSelector(q.get('labelSelector'));
    const fs = parseFieldSelector(q.get('fieldSelector'), def.group, def.resource, !!def.custom);
    return this.cluster
      .api()
      .store.list(`${def.group}/${def.resource}`, ns)
      .map(([, o]) => o)
      .filter((o) => matchesLabels(ls, obj(o.metadata)?.labels) && matchesFields(fs, o));
  }

  private list(req: IncomingMessage, res: ServerResponse, def: ResourceDef, ns: string | undefined, q: URLSearchParams): void {
    const api = this.cluster.api();
    const store = api.store;
    const rvParam = q.get('resourceVersion');
    const match = q.get('resourceVersionMatch');
    if (rvParam && rvParam !== '0') {
      const rv = Number(rvParam);
      if (!Number.isInteger(rv)) throw new ApiError(400, 'BadRequest', `invalid resource version: ${rvParam}`);
      if (rv > store.revision) {
        throw new ApiError(504, 'Timeout', `Timeout: Too large resource version: ${rv}, current: ${store.revision}`, {
          causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
          retryAfterSeconds: 1,
        });
      }
      if (match === 'Exact' && rv < store.oldestRevision) throw new ApiError(410, 'Expired', 'The resourceVersion for the provided list is too old.');
    }
    const ls = parseLabelSelector(q.get('labelSelector'));
    const fs = parseFieldSelector(q.get('fieldSelector'), def.group, def.resource, !!def.custom);
    let entries = store.list(`${def.group}/${def.resource}`, ns);
    const cont = q.get('continue');
    let listRv = store.revision;
    if (cont) {
      let token: { rv?: number; start?: string };
      try {
        token = JSON.parse(Buffer.from(cont, 'base64url').toString()) as { rv?: number; start?: string };
      } catch {
        throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
      }
      const start = (token.start ?? '').replace(/\u0000$/, '');
      if (typeof token.rv === 'number' && token.rv < store.oldestRevision && token.rv !== -1) {
        const inconsistent = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: -1, start: `${start}\u0000` })).toString('base64url');
        throw new ApiError(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
          undefined,
          { continue: inconsistent },
        );
      }
      if (typeof token.rv === 'number' && token.rv > 0) listRv = token.rv;
      entries = entries.filter(([k]) => k > start);
    }
    let items = entries.filter(([, o]) => matchesLabels(ls, obj(o.metadata)?.labels) && matchesFields(fs, o));
    const limit = Number(q.get('limit') ?? '0');
    const listMeta: JsonObject = { resourceVersion: String(listRv) };
    if (limit > 0 && items.length > limit) {
      const last = items[limit - 1][0];
      const remaining = items.length - limit;
      items = items.slice(0, limit);
      listMeta.continue = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: listRv, start: `${last}\u0000` })).toString('base64url');
      if (ls.length === 0 && fs.length === 0) listMeta.remainingItemCount = remaining;
    } else if (def.custom) listMeta.continue = '';
    const objects = items.map(([, o]) => o);
    const as = negotiateAs(req.headers.accept, ['Table', 'PartialObjectMetadataList']);
    if (as === 'Table') return send(res, 200, toTable(def, objects, listMeta, includeObject(q)));
    if (as === 'PartialObjectMetadataList') return send(res, 200, { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, items: objects.map(partialMetadata) });
    const list: JsonObject = { kind: def.listKind, apiVersion: groupVersion(def.group, def.version), metadata: listMeta };
    list.items = def.custom ? objects : objects.map(({ kind: _k, apiVersion: _a, ...rest }) => rest);
    send(res, 200, list);
  }

  private watch(req: IncomingMessage, res: ServerResponse, def: ResourceDef, ns: string | undefined, q: URLSearchParams, name: string): void {
    const c = this.cluster;
    const store = c.api().store;
    const resource = `${def.group}/${def.resource}`;
    const ls = parseLabelSelector(q.get('labelSelector'));
    const fieldSel = q.get('fieldSelector') ?? (name ? `metadata.name=${name}` : null);
    const fs = parseFieldSelector(fieldSel, def.group, def.resource, !!def.custom);
    const as = negotiateAs(req.headers.accept, ['Table', 'PartialObjectMetadata']);
    const table = as === 'Table';
    const include = includeObject(q);
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const timeoutSeconds = q.get('timeoutSeconds') ? Number(q.get('timeoutSeconds')) : undefined;
    const rvParam = q.get('resourceVersion');
    res.writeHead(200, { 'Audit-Id': randomUUID(), 'Cache-Control': 'no-cache, private', 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    let first = true;
    const matches = (o: JsonObject): boolean => matchesLabels(ls, obj(o.metadata)?.labels) && matchesFields(fs, o);
    const write = (type: string, o: JsonObject): void => {
      let object: JsonObject = o;
      if (table && type !== 'ERROR' && type !== 'BOOKMARK') {
        object = toTable(def, [o], { resourceVersion: str(obj(o.metadata)?.resourceVersion) ?? '' }, include, first);
        first = false;
      } else if (as === 'PartialObjectMetadata' && type !== 'ERROR' && type !== 'BOOKMARK') {
        object = partialMetadata(o);
      }
      res.write(`${JSON.stringify({ type, object })}\n`);
    };
    let lastRv = store.revision;
    const timers: NodeJS.Timeout[] = [];
    const finish = (): void => {
      store.watchers.delete(watcher);
      for (const t of timers) clearTimeout(t);
      for (const t of timers) clearInterval(t);
      if (!res.writableEnded) res.end();
    };
    const watcher = {
      resource,
      namespace: ns,
      send: (ev: StoreEvent): void => {
        if (ev.rv <= lastRv && !pending) return;
        if (pending) {
          queue.push(ev);
          return;
        }
        deliver(ev);
      },
    };
    const queue: StoreEvent[] = [];
    let pending = true;
    const deliver = (ev: StoreEvent): void => {
      lastRv = Math.max(lastRv, ev.rv);
      if (!matches(ev.object)) return;
      write(ev.type, ev.object);
    };
    let startRv: number;
    if (!rvParam || rvParam === '0') {
      for (const [, o] of store.list(resource, ns)) if (matches(o)) write('ADDED', o);
      startRv = store.revision;
      lastRv = startRv;
    } else {
      startRv = Number(rvParam);
      if (!Number.isFinite(startRv)) {
        write('ERROR', new ApiError(400, 'BadRequest', `invalid resource version: ${rvParam}`).toStatus());
        return finish();
      }
      const events = store.eventsSince(startRv, resource, ns);
      if (!events) {
        write('ERROR', new ApiError(410, 'Expired', `too old resource version: ${startRv} (${store.oldestRevision})`).toStatus());
        return finish();
      }
      lastRv = startRv;
      for (const ev of events) deliver(ev);
    }
    pending = false;
    store.watchers.add(watcher);
    for (const ev of queue.splice(0)) if (ev.rv > lastRv) deliver(ev);
    const bookmark = (): void => {
      if (res.writableEnded) return;
      const rv = Math.max(lastRv, startRv);
      res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { kind: def.kind, apiVersion: groupVersion(def.group, def.version), metadata: { resourceVersion: String(rv), creationTimestamp: null } } })}\n`);
    };
    if (bookmarks) {
      timers.push(setInterval(bookmark, c.options.bookmarkIntervalMs));
      if (timeoutSeconds !== undefined && timeoutSeconds >= 2) timers.push(setTimeout(bookmark, timeoutSeconds * 1000 - 1000));
    }
    if (timeoutSeconds !== undefined) timers.push(setTimeout(finish, timeoutSeconds * 1000));
    req.on('close', finish);
    res.on('close', finish);
    this.watchClosers.add(finish);
    res.on('close', () => this.watchClosers.delete(finish));
  }

  /** Ends every open watch (used when a cluster goes down or the emulator stops). */
  readonly watchClosers = new Set<() => void>();

  private tokenRequest(res: ServerResponse, _def: ResourceDef, ns: string, name: string, body: JsonValue): void {
    const c = this.cluster;
    const saDef = c.resolve('', 'v1', 'serviceaccounts') as ResourceDef;
    const sa = c.api().find(saDef, ns, name);
    if (!sa) throw notFound('serviceaccounts', '', name);
    const spec = obj(obj(body)?.spec) ?? {};
    const expirationSeconds = typeof spec.expirationSeconds === 'number' ? spec.expirationSeconds : 3600;
    if (expirationSeconds < 600) {
      throw new ApiError(422, 'Invalid', `TokenRequest.authentication.k8s.io "${name}" is invalid: spec.expirationSeconds: Invalid value: ${expirationSeconds}: may not specify a duration less than 10 minutes`, {
        name,
        group: 'authentication.k8s.io',
        kind: 'TokenRequest',
        causes: [{ reason: 'FieldValueInvalid', message: `Invalid value: ${expirationSeconds}: may not specify a duration less than 10 minutes`, field: 'spec.expirationSeconds' }],
      });
    }
    const audiences = Array.isArray(spec.audiences) && spec.audiences.length ? spec.audiences.map(String) : [SA_ISSUER];
    const { token, exp } = c.issueToken(ns, name, str(obj(sa.metadata)?.uid) ?? '', expirationSeconds, audiences);
    const now = nowTimestamp();
    const schema = BUILTIN_SCHEMAS['authentication.k8s.io/v1/TokenRequest'];
    const fieldSet = toFieldSet({ spec: isObject(obj(body)?.spec) ? (obj(body)?.spec as JsonObject) : {} }, schema, 'update');
    send(res, 201, {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: {
        name,
        namespace: ns,
        creationTimestamp: now,
        ...(fieldSet.size ? { managedFields: [{ manager: 'unknown', operation: 'Update', apiVersion: 'authentication.k8s.io/v1', time: now, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(fieldSet), subresource: 'token' }] } : {}),
      },
      spec: { audiences, expirationSeconds, boundObjectRef: spec.boundObjectRef ?? null },
      status: { token, expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d+Z$/, 'Z') },
    });
  }

  private virtualCreate(res: ServerResponse, def: ResourceDef, body: JsonValue, user: UserInfo, info: RequestInfo): void {
    const c = this.cluster;
    const b = obj(body) ?? {};
    const spec = obj(b.spec) ?? {};
    const gv = groupVersion(def.group, def.version);
    const now = nowTimestamp();
    const schema = BUILTIN_SCHEMAS[`${gv}/${def.kind}`];
    const managed = (): JsonObject => {
      if (!schema) return {};
      const set = toFieldSet({ spec }, schema, 'update');
      return set.size ? { managedFields: [{ manager: 'unknown', operation: 'Update', apiVersion: gv, time: now, fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(set) }] } : {};
    };
    if (def.kind === 'SelfSubjectAccessReview') {
      const ra = obj(spec.resourceAttributes);
      const nra = obj(spec.nonResourceAttributes);
      const attrs: Attributes = ra
        ? { resourceRequest: true, verb: str(ra.verb) ?? '', group: str(ra.group) ?? '', resource: str(ra.resource), subresource: str(ra.subresource) || undefined, namespace: str(ra.namespace) || undefined, name: str(ra.name) || undefined }
        : { resourceRequest: false, verb: str(nra?.verb) ?? '', path: str(nra?.path) ?? '' };
      const d = authorize(c.api().store, user, attrs);
      const status: JsonObject = { allowed: d.allowed };
      if (d.reason) status.reason = d.reason;
      return send(res, 201, { kind: def.kind, apiVersion: gv, metadata: { creationTimestamp: null, ...managed() }, spec, status });
    }
    if (def.kind === 'SelfSubjectRulesReview') {
      const ns = str(spec.namespace) ?? '';
      const rules = rulesFor(c.api().store, user, ns);
      return send(res, 201, { kind: def.kind, apiVersion: gv, metadata: { creationTimestamp: null }, spec: {}, status: { ...rules, incomplete: false } });
    }
    if (def.kind === 'TokenReview') {
      const token = str(spec.token) ?? '';
      const u = c.authenticateToken(token);
      return send(res, 201, { kind: def.kind, apiVersion: gv, metadata: { creationTimestamp: null }, spec, status: u ? { authenticated: true, user: { username: u.username, ...(u.uid ? { uid: u.uid } : {}), groups: u.groups }, audiences: [SA_ISSUER] } : { user: {}, error: 'invalid bearer token' } });
    }
    if (def.kind === 'SubjectAccessReview' || def.kind === 'LocalSubjectAccessReview') {
      const ra = obj(spec.resourceAttributes);
      const subject: UserInfo = { username: str(spec.user) ?? '', groups: Array.isArray(spec.groups) ? spec.groups.map(String) : [] };
      const attrs: Attributes = { resourceRequest: true, verb: str(ra?.verb) ?? '', group: str(ra?.group) ?? '', resource: str(ra?.resource), namespace: str(ra?.namespace) ?? info.namespace, name: str(ra?.name) || undefined };
      const d = authorize(c.api().store, subject, attrs);
      return send(res, 201, { kind: def.kind, apiVersion: gv, metadata: { creationTimestamp: null, ...managed() }, spec, status: { allowed: d.allowed, ...(d.reason ? { reason: d.reason } : {}) } });
    }
    throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
  }

  private updateScale(res: ServerResponse, def: ResourceDef, ns: string | undefined, name: string, body: JsonValue, opts: WriteOptions): void {
    const api = this.cluster.api();
    const cur = api.get(def, ns, name);
    const replicas = obj(obj(body)?.spec)?.replicas;
    const next: JsonObject = { ...cur, spec: { ...(obj(cur.spec) ?? {}), replicas: typeof replicas === 'number' ? replicas : 0 } };
    const r = api.update(def, ns, name, next, opts);
    send(res, 200, scaleOf(def, r.body));
  }
}

function includeObject(q: URLSearchParams): IncludeObject {
  const v = q.get('includeObject');
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function scaleOf(def: ResourceDef, o: JsonObject): JsonObject {
  const m = obj(o.metadata) ?? {};
  const sel = obj(obj(o.spec)?.selector);
  const selector = Object.entries(obj(sel?.matchLabels) ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name ?? '', namespace: m.namespace ?? '', uid: m.uid ?? '', resourceVersion: m.resourceVersion ?? '', creationTimestamp: m.creationTimestamp ?? null },
    spec: { replicas: obj(o.spec)?.replicas ?? 0 },
    status: { replicas: obj(o.status)?.replicas ?? 0, selector },
  };
  void def;
}
