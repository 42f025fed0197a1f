import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { ErrorReason, FlotillaError, Principal } from '@flotilla/domain';
import { toKubeStatus } from '@flotilla/service-kit';
import { principalOf } from '../auth/principal';
import { decodeObjectBody } from '../http/body';
import type { Authorizer, Decision } from './authorizer';
import { PROTOBUF_MEDIA_TYPE, decodeSelfSubjectAccessReview } from './ssar-protobuf';

export const SSAR_PATH = '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews';
/** A review is a few hundred bytes; anything much larger is not one. */
const MAX_REVIEW_BYTES = 64 * 1024;
const MAX_FIELD = 253;

interface ReviewSpec {
  resourceAttributes?: { verb?: string; group?: string; resource?: string; subresource?: string; name?: string; namespace?: string; version?: string };
  nonResourceAttributes?: { verb?: string; path?: string };
}

const invalid = (field: string, message: string) =>
  new FlotillaError(ErrorReason.Invalid, `SelfSubjectAccessReview.authorization.k8s.io is invalid: ${field}: ${message}`, {
    kind: 'SelfSubjectAccessReview',
    group: 'authorization.k8s.io',
    causes: [{ reason: 'FieldValueInvalid', field, message }],
  });

/** The body, whether the gateway's raw body parser already read it or not (then read here, bounded). */
async function bodyOf(req: Request): Promise<Buffer> {
  if (Buffer.isBuffer(req.body)) return req.body;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as IncomingMessage) {
    size += (chunk as Buffer).length;
    if (size > MAX_REVIEW_BYTES) throw new FlotillaError(ErrorReason.RequestEntityTooLarge, `the request body is larger than ${MAX_REVIEW_BYTES} bytes: a SelfSubjectAccessReview is much smaller`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function text(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || value.length > MAX_FIELD) throw invalid(field, `must be a string of at most ${MAX_FIELD} characters`);
  return value;
}

/** Reads and checks the review's spec: exactly one of resourceAttributes and nonResourceAttributes. */
export function reviewSpec(body: unknown): ReviewSpec {
  const review = body as { apiVersion?: unknown; kind?: unknown; spec?: ReviewSpec } | null;
  if (!review || typeof review !== 'object' || review.kind !== 'SelfSubjectAccessReview' || review.apiVersion !== 'authorization.k8s.io/v1') {
    throw invalid('kind', 'must be a SelfSubjectAccessReview of apiVersion authorization.k8s.io/v1');
  }
  const spec = review.spec;
  const r = spec?.resourceAttributes;
  const n = spec?.nonResourceAttributes;
  if ((r === undefined) === (n === undefined)) throw invalid('spec', 'set exactly one of resourceAttributes and nonResourceAttributes');
  if (r !== undefined) {
    if (typeof r !== 'object' || r === null) throw invalid('spec.resourceAttributes', 'must be an object');
    const checked = {
      verb: text(r.verb, 'spec.resourceAttributes.verb'),
      group: text(r.group, 'spec.resourceAttributes.group'),
      version: text(r.version, 'spec.resourceAttributes.version'),
      resource: text(r.resource, 'spec.resourceAttributes.resource'),
      subresource: text(r.subresource, 'spec.resourceAttributes.subresource'),
      name: text(r.name, 'spec.resourceAttributes.name'),
      namespace: text(r.namespace, 'spec.resourceAttributes.namespace'),
    };
    if (!checked.verb) throw invalid('spec.resourceAttributes.verb', 'is required, e.g. get, list, create, delete');
    return { resourceAttributes: Object.fromEntries(Object.entries(checked).filter(([, v]) => v !== undefined)) };
  }
  if (typeof n !== 'object' || n === null) throw invalid('spec.nonResourceAttributes', 'must be an object');
  const verb = text(n.verb, 'spec.nonResourceAttributes.verb');
  const path = text(n.path, 'spec.nonResourceAttributes.path');
  if (!verb || !path) throw invalid('spec.nonResourceAttributes', 'verb and path are required');
  return { nonResourceAttributes: { verb, path } };
}

/** The decision a review asks for. Member access is asked as `clusters/proxy` named by the cluster. */
export function review(authorizer: Authorizer, p: Principal, spec: ReviewSpec): Decision {
  const n = spec.nonResourceAttributes;
  if (n) return authorizer.fleetPath(p, n.verb!, n.path!);
  const r = spec.resourceAttributes!;
  const a = { verb: r.verb!, group: r.group ?? '', resource: r.resource ?? '', subresource: r.subresource, name: r.name };
  // kubectl sends group "" when discovery does not know the resource: clusters/proxy is Flotilla's either way.
  if (a.resource === 'clusters' && a.subresource === 'proxy' && (a.group === 'cluster.kubesphere.io' || a.group === '')) {
    if (!a.name) return { allowed: false, reason: 'name the cluster: member access is decided per cluster' };
    const role = authorizer.memberRole(p, a.name);
    return role
      ? { allowed: true, reason: `${role} on cluster "${a.name}" (each request is then decided by the member's own RBAC, or by Flotilla when impersonation is off)` }
      : { allowed: false, reason: `no ClusterAccessBinding grants a role on cluster "${a.name}"` };
  }
  return authorizer.fleet(p, a);
}

/**
 * POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews on Flotilla's own API, so that
 * `kubectl auth can-i` works against it. Answers 201 with the review and its status, as
 * kube-apiserver does (see ../shared/k8s-golden/070 and 071).
 */
export function selfSubjectAccessReviewHandler(authorizer: Authorizer) {
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'POST') return next();
    const p = principalOf(req);
    const fail = (error: unknown) => {
      const status = toKubeStatus(error);
      res.status(status.code).type('application/json').send(JSON.stringify(status));
    };
    if (!p) return fail(new FlotillaError(ErrorReason.Unauthorized, 'Unauthorized: send "Authorization: Bearer <token>"'));
    bodyOf(req)
      .then((raw) => {
        if (raw.length > MAX_REVIEW_BYTES) throw new FlotillaError(ErrorReason.RequestEntityTooLarge, `the request body is larger than ${MAX_REVIEW_BYTES} bytes`);
        // kubectl's typed client (auth can-i) sends protobuf; other clients JSON or YAML.
        const protobuf = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === PROTOBUF_MEDIA_TYPE;
        const spec = reviewSpec(protobuf ? decodeSelfSubjectAccessReview(raw) : decodeObjectBody(raw, req.headers['content-type']));
        const decision = review(authorizer, p, spec);
        const status = decision.allowed ? { allowed: true, reason: decision.reason } : { allowed: false, ...(decision.reason ? { reason: decision.reason } : {}) };
        const answer = { kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', metadata: { creationTimestamp: null }, spec, status };
        res.status(201).type('application/json').send(JSON.stringify(answer));
      })
      .catch(fail);
  };
}
