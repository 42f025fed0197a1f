/**
 * Resource requests: resolves the resource, checks the path shape, then serves the verb (get,
 * create, update, patch, delete, deletecollection) with the API state's rules, and hands list,
 * watch, subresources and review resources to their own modules.
 */
import { type JsonObject, obj, str } from '@flotilla/apply';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { VirtualCluster } from '../cluster/cluster';
import type { WriteOptions } from '../api/apiserver';
import { ApiError, badRequest } from '../api/errors';
import type { UserInfo } from '../api/rbac';
import { checkEscalation, isRbacPolicyResource } from '../api/rbac-escalation';
import { BUILTIN_GROUP_ORDER, groupVersion, isVirtualResource, type ResourceDef } from '../api/resources';
import { partialMetadata, toTable } from '../api/tables';
import { list, select, watch } from './list-watch';
import type { RequestInfo } from './request-info';
import { createReview } from './reviews';
import { patchScale, scaleOf, tokenRequest, updateScale } from './subresources';
import { includeObject, jsonBody, jsonBodyOrEmpty, negotiateAs, readBody, send, sendPageNotFound } from './wire';

const methodNotAllowed = (): ApiError => new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
const resourceNotFound = (): ApiError => new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});

/** Write options from the query (fieldManager, dryRun, fieldValidation, force), refused as the real server does. */
function writeOptions(req: IncomingMessage, q: URLSearchParams, admit?: WriteOptions['admit']): WriteOptions {
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
    admit,
  };
}

/**
 * A cluster-scoped resource asked for under a namespace, or a namespaced one by name without it:
 * no route on the real server (the CRD handler passes such requests on to the not-found handler).
 */
function scopeMismatch(def: ResourceDef, info: RequestInfo): boolean {
  if (!def.namespaced) return !!info.namespace && !(def.group === '' && def.resource === 'namespaces');
  return !info.namespace && info.verb !== 'list' && info.verb !== 'watch' && !!def.custom;
}

/** `watchClosers` receives the closer of a watch this request opens. */
export async function serveResource(c: VirtualCluster, req: IncomingMessage, res: ServerResponse, info: RequestInfo, q: URLSearchParams, user: UserInfo, watchClosers: Set<() => void>): Promise<void> {
  const def = c.resolve(info.group, info.version ?? '', info.resource ?? '');
  if (!def) {
    // A built-in group-version answers a Status (go-restful's 404); anything else, custom resources
    // of a CRD not (yet) established included, reaches kube-apiserver's plain-text not-found handler.
    const builtinGv = BUILTIN_GROUP_ORDER.some((g) => g.group === info.group && g.versions.includes(info.version ?? ''));
    if (!builtinGv) return sendPageNotFound(res);
    throw resourceNotFound();
  }
  if (scopeMismatch(def, info)) {
    if (def.custom) return sendPageNotFound(res);
    throw resourceNotFound();
  }
  const api = c.api();
  const ns = def.namespaced ? info.namespace : undefined;
  const sub = info.subresource;
  if (sub && !def.subresources.some((s) => s.name === sub && !s.advertisedOnly)) throw resourceNotFound();
  if (isVirtualResource(def)) {
    if (info.verb !== 'create') throw methodNotAllowed();
    const body = await jsonBody(req);
    return createReview(c, res, def, body, user, info);
  }
  if (def.namespaced && !info.namespace && info.verb !== 'list' && info.verb !== 'watch') throw resourceNotFound();
  const name = info.name ?? '';
  // Roles and bindings may not grant more than their writer holds (kube-apiserver's escalation check).
  const admit: WriteOptions['admit'] = isRbacPolicyResource(def.group, def.resource)
    ? (next, old) => checkEscalation(api.store, user, { resource: def.resource, namespace: ns, requestName: info.name }, next, old)
    : undefined;
  switch (info.verb) {
    case 'get': {
      const o = api.get(def, ns, name);
      if (sub === 'scale') return send(res, 200, scaleOf(o));
      const as = negotiateAs(req.headers.accept, ['Table', 'PartialObjectMetadata']);
      if (as === 'Table') return send(res, 200, toTable(def, [o], { resourceVersion: str(obj(o.metadata)?.resourceVersion) ?? '' }, includeObject(q)));
      if (as === 'PartialObjectMetadata') return send(res, 200, partialMetadata(o));
      return send(res, 200, o);
    }
    case 'list':
      return list(c, req, res, def, ns, q);
    case 'watch':
      return watch(c, req, res, def, ns, q, name, watchClosers);
    case 'create': {
      if (def.resource === 'serviceaccounts' && sub === 'token') return tokenRequest(c, res, ns ?? '', name, await jsonBody(req));
      const body = await jsonBody(req);
      const r = api.create(def, ns, body, writeOptions(req, q, admit));
      return send(res, r.code, r.body, r.warnings);
    }
    case 'update': {
      const opts = writeOptions(req, q, admit);
      const body = await jsonBody(req);
      if (sub === 'scale') return updateScale(c, res, def, ns, name, body, opts);
      const r = api.update(def, ns, name, body, opts, sub);
      return send(res, r.code, r.body, r.warnings);
    }
    case 'patch': {
      const opts = writeOptions(req, q, admit);
      const raw = await readBody(req);
      if (sub === 'scale') return patchScale(c, res, def, ns, name, raw, opts);
      const r = api.patch(def, ns, name, req.headers['content-type'] ?? '', raw, opts, sub);
      return send(res, r.code, r.body, r.warnings);
    }
    case 'delete': {
      const options = (obj(await jsonBodyOrEmpty(req)) ?? {}) as JsonObject;
      if (q.get('propagationPolicy')) options.propagationPolicy = q.get('propagationPolicy');
      if (q.get('gracePeriodSeconds')) options.gracePeriodSeconds = Number(q.get('gracePeriodSeconds'));
      const r = api.delete(def, ns, name, options, writeOptions(req, q).dryRun);
      return send(res, r.code, r.body, r.warnings);
    }
    case 'deletecollection': {
      const items = select(c, def, ns, q);
      const dryRun = writeOptions(req, q).dryRun;
      const deleted = items.map((o) => api.delete(def, ns ?? str(obj(o.metadata)?.namespace), str(obj(o.metadata)?.name) ?? '', {}, dryRun).body);
      return send(res, 200, { kind: def.listKind, apiVersion: groupVersion(def.group, def.version), metadata: { resourceVersion: String(api.store.revision) }, items: deleted });
    }
    default:
      throw methodNotAllowed();
  }
}
