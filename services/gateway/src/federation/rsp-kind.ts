import { FederatedKindInfo, REPLICA_SCHEDULING_PREFERENCE, federatedKindByKind, validateReplicaSchedulingPreference } from '@flotilla/domain';
import type { ObjectStore } from '@flotilla/clients';
import type { ResourceKind, WriteContext } from '../resources/resource-kind';
import { Causes, Json, checkTypeMeta, isObject, serverMetadata, validateMetadata } from '../resources/validation';
import { isNotFound } from '../resources/resource-errors';
import type { FederationWriteGuard } from './write-authorization';

const API_VERSION = `${REPLICA_SCHEDULING_PREFERENCE.group}/${REPLICA_SCHEDULING_PREFERENCE.version}`;
const SPEC_FIELDS = ['targetKind', 'totalReplicas', 'rebalance', 'clusters'];

/** kubefed's ReplicaSchedulingPreference: {targetKind, totalReplicas, rebalance?, clusters?}. */
export function validateRsp(obj: unknown, old?: Json, namespace = ''): Json {
  const causes = new Causes();
  const body: Json = isObject(obj) ? obj : {};
  if (!isObject(obj)) causes.invalid('body', typeof obj, 'must be a ReplicaSchedulingPreference object');
  checkTypeMeta(body, API_VERSION, REPLICA_SCHEDULING_PREFERENCE.kind, causes);
  const metadata = validateMetadata(body.metadata, causes, old ? 'update' : 'create', { namespace });
  if (old) {
    const stored = isObject(old.metadata) ? old.metadata : {};
    metadata.name = stored.name;
    Object.assign(metadata, { ...serverMetadata(old), resourceVersion: metadata.resourceVersion ?? stored.resourceVersion });
  }
  // The domain checks the spec (targetKind, totalReplicas, weights, min and max); only its fields are kept.
  const named = new Set(causes.list.map((c) => c.field));
  for (const c of validateReplicaSchedulingPreference(body)) if (!named.has(c.field)) causes.list.push(c);
  const spec: Json = {};
  if (isObject(body.spec)) for (const f of SPEC_FIELDS) if (body.spec[f] !== undefined) spec[f] = body.spec[f];
  const name = typeof metadata.name === 'string' ? metadata.name : undefined;
  causes.throwIfAny(REPLICA_SCHEDULING_PREFERENCE.kind, name);
  return { apiVersion: API_VERSION, kind: REPLICA_SCHEDULING_PREFERENCE.kind, metadata, spec, ...(old?.status !== undefined ? { status: old.status } : {}) };
}

/** The placement of the federated object a preference steers (same name and namespace), if it exists. */
async function targetPlacement(store: ObjectStore, rsp: Json, namespace: string): Promise<unknown> {
  const spec = isObject(rsp.spec) ? rsp.spec : {};
  const target: FederatedKindInfo | undefined = typeof spec.targetKind === 'string' ? federatedKindByKind(spec.targetKind) : undefined;
  const name = String((rsp.metadata as Json | undefined)?.name ?? '');
  if (!target) return undefined;
  try {
    const found = await store.get(target.storeKey, name, namespace);
    return isObject(found.object.spec) ? found.object.spec.placement : undefined;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * ReplicaSchedulingPreference: writing one changes how many replicas its target runs in each of
 * the target's clusters, so it needs what writing the target needs (cluster-editor on every cluster
 * the target's placement selects; nothing more while the target does not exist).
 */
export function rspKind(guard: FederationWriteGuard): ResourceKind {
  const info = REPLICA_SCHEDULING_PREFERENCE;
  const check = async (obj: Json, ctx: WriteContext) => {
    const name = String((obj.metadata as Json | undefined)?.name ?? '');
    guard.check(ctx.principal, { verb: ctx.verb, group: info.group, resource: info.plural, name, namespace: ctx.namespace }, [await targetPlacement(ctx.store, obj, ctx.namespace)]);
  };
  return {
    group: info.group,
    version: info.version,
    kind: info.kind,
    listKind: info.listKind,
    plural: info.plural,
    singular: info.singular,
    shortNames: ['rsp'],
    namespaced: true,
    storeKey: info.storeKey,
    validate: (obj, old, ctx) => validateRsp(obj, old, ctx?.namespace ?? ''),
    toApi: (obj) => obj,
    async admit(obj, old, ctx) {
      await check(obj, ctx);
      if (old) await check(old, ctx);
    },
    admitDelete: (stored, ctx) => check(stored, ctx),
  };
}
