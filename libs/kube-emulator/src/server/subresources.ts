/** Subresources with their own shape: `serviceaccounts/token` (TokenRequest) and the `scale` of workloads (autoscaling/v1 Scale). */
import { isObject, type JsonObject, type JsonValue, nowTimestamp, obj, str, toFieldSet, toFieldsV1 } from '@flotilla/apply';
import type { ServerResponse } from 'node:http';
import type { VirtualCluster } from '../cluster/cluster';
import { SA_ISSUER } from '../cluster/service-account-tokens';
import type { WriteOptions } from '../api/apiserver';
import { ApiError, notFound } from '../api/errors';
import type { ResourceDef } from '../api/resources';
import { BUILTIN_SCHEMAS } from '../model/schema';
import { send } from './wire';

export function tokenRequest(c: VirtualCluster, res: ServerResponse, ns: string, name: string, body: JsonValue): void {
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

/** The Scale view of a workload. */
export function scaleOf(o: JsonObject): JsonObject {
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
}

/** PUT of a Scale: writes spec.replicas into the workload. */
export function updateScale(c: VirtualCluster, res: ServerResponse, def: ResourceDef, ns: string | undefined, name: string, body: JsonValue, opts: WriteOptions): void {
  const api = c.api();
  const cur = api.get(def, ns, name);
  const replicas = obj(obj(body)?.spec)?.replicas;
  const next: JsonObject = { ...cur, spec: { ...(obj(cur.spec) ?? {}), replicas: typeof replicas === 'number' ? replicas : 0 } };
  const r = api.update(def, ns, name, next, opts);
  send(res, 200, scaleOf(r.body));
}

/** PATCH of a Scale: only spec.replicas of the patch counts (any patch type). */
export function patchScale(c: VirtualCluster, res: ServerResponse, def: ResourceDef, ns: string | undefined, name: string, raw: string, opts: WriteOptions): void {
  const cur = scaleOf(c.api().get(def, ns, name));
  const spec = obj(cur.spec) ?? {};
  const patchDoc = JSON.parse(raw) as JsonObject;
  const replicas = obj(patchDoc.spec)?.replicas;
  updateScale(c, res, def, ns, name, { ...cur, spec: { ...spec, replicas: typeof replicas === 'number' ? replicas : (spec.replicas ?? 0) } }, opts);
}
