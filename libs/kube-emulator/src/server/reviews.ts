/**
 * Virtual resources that are only ever created and never stored: SelfSubjectAccessReview,
 * SelfSubjectRulesReview, TokenReview, SubjectAccessReview and LocalSubjectAccessReview.
 */
import { type JsonObject, type JsonValue, nowTimestamp, obj, str, toFieldSet, toFieldsV1 } from '@flotilla/apply';
import type { ServerResponse } from 'node:http';
import type { VirtualCluster } from '../cluster/cluster';
import { SA_ISSUER } from '../cluster/service-account-tokens';
import { ApiError } from '../api/errors';
import { authorize, rulesFor, type Attributes, type UserInfo } from '../api/rbac';
import { groupVersion, type ResourceDef } from '../api/resources';
import { BUILTIN_SCHEMAS } from '../model/schema';
import type { RequestInfo } from './request-info';
import { send } from './wire';

export function createReview(c: VirtualCluster, res: ServerResponse, def: ResourceDef, body: JsonValue, user: UserInfo, info: RequestInfo): void {
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
