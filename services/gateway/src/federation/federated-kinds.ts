import {
  ErrorReason,
  FEDERATION_FINALIZER,
  FederatedKindInfo,
  FlotillaError,
  LAST_WRITER_ANNOTATION,
  Principal,
  lastWriterValue,
  validateFederatedObject,
} from '@flotilla/domain';
import type { ResourceKind, WriteContext } from '../resources/resource-kind';
import { Causes, Json, checkTypeMeta, isObject, serverMetadata, validateMetadata } from '../resources/validation';
import type { FederationLimits } from './federation-config';
import type { FederatedObjectCounts } from './object-counts';
import type { FederationWriteGuard } from './write-authorization';

/** kubefed's short names (kubefedctl enable prefixes the target's with "f"). */
const SHORT_NAMES: Record<string, readonly string[]> = {
  FederatedNamespace: ['fns'],
  FederatedConfigMap: ['fcm'],
  FederatedDeployment: ['fdeploy'],
  FederatedStatefulSet: ['fsts'],
  FederatedDaemonSet: ['fds'],
  FederatedService: ['fsvc'],
  FederatedIngress: ['fing'],
  FederatedServiceAccount: ['fsa'],
};
/** The fields of spec a client writes; anything else is dropped, as a structural CRD schema prunes. */
const SPEC_FIELDS = ['template', 'placement', 'overrides'];

export interface FederatedKindDeps {
  limits: FederationLimits;
  guard: FederationWriteGuard;
  counts: FederatedObjectCounts;
}

const metaOf = (o: Json): Json => (isObject(o.metadata) ? o.metadata : {});
const specOf = (o: Json | undefined): Json => (o && isObject(o.spec) ? o.spec : {});
const apiVersionOf = (info: FederatedKindInfo) => `${info.group}/${info.version}`;

/** Bytes of JSON of the template, without serialising one far over the limit in full. */
function templateTooLarge(template: unknown, max: number): boolean {
  const text = JSON.stringify(template) ?? '';
  return text.length > max / 3 && Buffer.byteLength(text, 'utf8') > max;
}

/**
 * Checks a federated object (any of FEDERATED_KINDS) and returns what is stored: type meta,
 * metadata (namespace of the request, finalizers), spec.template/placement/overrides as the
 * domain validates them, and on update the STORED status (status belongs to federation-sync, as
 * behind a status subresource). Invalid names each bad field; a Secret's data is never echoed.
 */
export function validateFederated(info: FederatedKindInfo, limits: FederationLimits, obj: unknown, old?: Json, namespace = ''): Json {
  const causes = new Causes();
  const body: Json = isObject(obj) ? obj : {};
  if (!isObject(obj)) causes.invalid('body', typeof obj, `must be a ${info.kind} object`);
  const apiVersion = apiVersionOf(info);
  checkTypeMeta(body, apiVersion, info.kind, causes);
  const ns = info.namespaced ? namespace : '';
  const metadata = validateMetadata(body.metadata, causes, old ? 'update' : 'create', { namespace: ns, finalizers: true });
  if (old) {
    const stored = metaOf(old);
    metadata.name = stored.name;
    Object.assign(metadata, { ...serverMetadata(old), resourceVersion: metadata.resourceVersion ?? stored.resourceVersion });
  }
  const name = typeof metadata.name === 'string' ? metadata.name : undefined;
  const spec: Json = {};
  if (!isObject(body.spec)) causes.required('spec', 'Required value: spec.template and spec.placement');
  else {
    for (const f of SPEC_FIELDS) if (body.spec[f] !== undefined) spec[f] = body.spec[f];
    if (templateTooLarge(spec.template, limits.maxTemplateBytes)) {
      causes.tooLong('spec.template', `${limits.maxTemplateBytes} bytes of JSON (FLOTILLA_FEDERATION_MAX_TEMPLATE_BYTES)`);
    } else {
      // The domain checks the template, placement, overrides and policy annotations; metadata
      // fields already named above are not named twice.
      const named = new Set(causes.list.map((c) => c.field));
      const candidate = { apiVersion, kind: info.kind, metadata, spec };
      for (const c of validateFederatedObject(info, candidate, ns, { maxTemplateBytes: limits.maxTemplateBytes })) if (!named.has(c.field)) causes.list.push(c);
    }
  }
  causes.throwIfAny(info.kind, name);
  return { apiVersion, kind: info.kind, metadata, spec, ...(old && old.status !== undefined ? { status: old.status } : {}) };
}

/** The object with the gateway's own marks: the cleanup finalizer (unless it is being deleted) and the last writer. */
export function stampFederated(obj: Json, principal: Principal): Json {
  const meta = metaOf(obj);
  const finalizers = Array.isArray(meta.finalizers) ? (meta.finalizers as string[]) : [];
  const annotations = isObject(meta.annotations) ? (meta.annotations as Record<string, string>) : {};
  return {
    ...obj,
    metadata: {
      ...meta,
      annotations: { ...annotations, [LAST_WRITER_ANNOTATION]: lastWriterValue(principal) },
      ...(meta.deletionTimestamp === undefined && !finalizers.includes(FEDERATION_FINALIZER) ? { finalizers: [...finalizers, FEDERATION_FINALIZER] } : {}),
    },
  };
}

function unauthenticated(): FlotillaError {
  return new FlotillaError(ErrorReason.Unauthorized, 'Unauthorized: send "Authorization: Bearer <token>"');
}

/** The per-namespace count limit, worded as a ResourceQuota refusal. */
export async function checkCount(info: { plural: string; group: string; storeKey: string }, name: string, namespace: string, deps: FederatedKindDeps): Promise<void> {
  const limit = deps.limits.maxObjectsPerNamespace;
  const used = await deps.counts.count(info.storeKey, namespace);
  if (used < limit) return;
  const r = `${info.plural}.${info.group}`;
  throw new FlotillaError(
    ErrorReason.Forbidden,
    `${r} "${name}" is forbidden: exceeded quota: FLOTILLA_FEDERATION_MAX_OBJECTS_PER_NAMESPACE, requested: ${r}=1, used: ${r}=${used}, limited: ${r}=${limit}` +
      (namespace ? ` (in namespace "${namespace}")` : ''),
    { name, group: info.group, kind: info.plural },
  );
}

/** One federated kind served by the generic layer. */
export function federatedKind(info: FederatedKindInfo, deps: FederatedKindDeps): ResourceKind {
  const attrs = (ctx: WriteContext, name: string) => ({ verb: ctx.verb, group: info.group, resource: info.plural, name, namespace: ctx.namespace });
  return {
    group: info.group,
    version: info.version,
    kind: info.kind,
    listKind: info.listKind,
    plural: info.plural,
    singular: info.singular,
    shortNames: SHORT_NAMES[info.kind] ?? [],
    namespaced: info.namespaced,
    storeKey: info.storeKey,
    finalizers: true,
    validate: (obj, old, ctx) => validateFederated(info, deps.limits, obj, old, ctx?.namespace ?? ''),
    toApi: (obj) => obj,
    async admit(obj, old, ctx) {
      if (!ctx.principal) throw unauthenticated();
      const name = String(metaOf(obj).name ?? '');
      deps.guard.check(ctx.principal, attrs(ctx, name), old ? [specOf(old).placement, specOf(obj).placement] : [specOf(obj).placement]);
      if (!old) await checkCount(info, name, ctx.namespace, deps);
      return stampFederated(obj, ctx.principal);
    },
    async admitDelete(stored, ctx) {
      deps.guard.check(ctx.principal, attrs(ctx, String(metaOf(stored).name ?? '')), [specOf(stored).placement]);
    },
  };
}
