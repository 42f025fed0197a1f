import { ErrorReason, type FederatedKindInfo, FlotillaError, ORPHAN_API_VERSION, ORPHAN_CLUSTER_LABEL, ORPHAN_KIND, ORPHAN_RESOURCE, federatedObjectKey, federationPolicies, orphanName } from '@flotilla/domain';
import type { StoredObject } from '@flotilla/clients';
import type { MemberObjectRef } from '@flotilla/kube';
import type { ObjectMemory, SyncContext } from './context';
import { isReady } from './placement';
import { type ClusterEntry, type FederatedStatus, buildStatus, sameStatus } from './status';
import type { FederatedRef } from '../events/event-recorder';
import { metaOf, statusOf, writeStatus } from './status-writer';

export type RemoveOutcome = 'done' | { message: string; unreachable: boolean };

/** Removes our member object from one cluster ('done' also when absent, not ours, or the cluster left the fleet). */
export async function removeFrom(ctx: SyncContext, cluster: string, ref: MemberObjectRef, federatedObject: string): Promise<RemoveOutcome> {
  const c = ctx.clusters().get(cluster);
  if (!c) return 'done';
  const applier = ctx.pool.applier(cluster);
  if (!applier || !isReady(c)) return { message: `cluster "${cluster}" is not ready; removal retried`, unreachable: true };
  try {
    await applier.remove(ref, federatedObject);
    return 'done';
  } catch (error) {
    return { message: `removal from cluster "${cluster}" failed: ${error instanceof Error ? error.message.slice(0, 300) : 'unknown error'}`, unreachable: true };
  }
}

export interface Deleting {
  key: string;
  info: FederatedKindInfo;
  stored: StoredObject;
  ref: FederatedRef;
  memberRef: MemberObjectRef | undefined;
  memory: ObjectMemory;
}

/**
 * A federated object being deleted (deletionTimestamp set by the gateway; finalizer
 * federation.flotilla.io/cleanup): its member objects are removed from every cluster in its
 * status (unless retain); a member unreachable for ORPHAN_AFTER is reported as an Orphan (object
 * + events) and cleaned when it returns. Then the stored object is deleted (uid precondition).
 * True when the stored object is gone.
 */
export async function removeEverywhere(ctx: SyncContext, d: Deleting): Promise<boolean> {
  const prev = statusOf(d.stored.object);
  const retain = federationPolicies(metaOf(d.stored.object).annotations ?? {}).retain;
  const names = new Set([...(prev?.clusters ?? []).filter((c) => c.reason !== 'Forbidden' && c.reason !== 'NamespaceNotFederated' && c.reason !== 'Conflict').map((c) => c.name), ...d.memory.clusters.keys()]);
  const entries: ClusterEntry[] = [];
  let waitMs = Number.POSITIVE_INFINITY;
  if (!retain && d.memberRef) {
    for (const name of names) {
      if (prev?.clusters?.find((c) => c.name === name)?.status === 'Orphaned') {
        entries.push({ name, status: 'Orphaned', reason: 'Orphaned', message: 'member unreachable during deletion; cleaned when it returns' });
        continue;
      }
      const outcome = await removeFrom(ctx, name, d.memberRef, d.key);
      const mem = d.memory.clusters.get(name) ?? {};
      d.memory.clusters.set(name, mem);
      if (outcome === 'done') {
        d.memory.clusters.delete(name);
        continue;
      }
      mem.unreachableSince ??= Date.now();
      const left = mem.unreachableSince + ctx.orphanAfterMs - Date.now();
      if (left > 0) {
        entries.push({ name, status: 'Pending', reason: 'Removing', message: outcome.message });
        waitMs = Math.min(waitMs, left, ctx.backoff.next(`${d.key}|${name}|remove`));
        continue;
      }
      await recordOrphan(ctx, name, d);
      entries.push({ name, status: 'Orphaned', reason: 'Orphaned', message: `cluster "${name}" unreachable for ${Math.round(ctx.orphanAfterMs / 1000)} s; reported as an orphan and cleaned when it returns` });
    }
  }
  if (entries.every((e) => e.status === 'Orphaned')) {
    try {
      await ctx.store.delete(d.stored.resource, d.stored.name, d.stored.namespace, { uid: d.ref.uid });
    } catch (error) {
      if (!(error instanceof FlotillaError) || (error.reason !== ErrorReason.NotFound && error.reason !== ErrorReason.Conflict)) throw error;
    }
    return true;
  }
  const status: FederatedStatus = buildStatus(prev, { generation: metaOf(d.stored.object).generation ?? 1, clusters: entries, notReady: [], workload: !!d.info.workload });
  if (!sameStatus(prev, status)) await writeStatus(ctx, d.stored, status);
  ctx.requeue(d.key, Math.max(50, waitMs));
  return false;
}

async function recordOrphan(ctx: SyncContext, cluster: string, d: Deleting): Promise<void> {
  const ref = d.memberRef!;
  const name = orphanName(cluster, ref);
  const orphan = {
    apiVersion: ORPHAN_API_VERSION,
    kind: ORPHAN_KIND,
    metadata: { name, labels: { [ORPHAN_CLUSTER_LABEL]: cluster } },
    spec: {
      cluster,
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      ...(ref.namespace ? { namespace: ref.namespace } : {}),
      name: ref.name,
      federatedObject: { resource: d.stored.resource, namespace: d.stored.namespace, name: d.stored.name, uid: d.ref.uid },
      since: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
  };
  try {
    await ctx.store.create(ORPHAN_RESOURCE, orphan);
  } catch (error) {
    if (!(error instanceof FlotillaError) || error.reason !== ErrorReason.AlreadyExists) throw error;
  }
  const message = `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name} left in cluster "${cluster}" (unreachable during deletion); removed when the cluster is ready again`;
  await ctx.events.record(d.ref, { type: 'Warning', reason: 'Orphaned', message, cluster: ctx.clusters().get(cluster) });
  ctx.log.warn({ cluster, orphan: name }, 'member unreachable during deletion: orphan recorded');
}

/**
 * Cleans one orphan once its cluster is Ready: deletes the member object if it is still ours (and
 * no live federated object of the same key places it there now), then the Orphan (uid precondition).
 * 'waiting': the cluster is not Ready (its return triggers another try); 'retry': try again later.
 */
export async function cleanOrphan(ctx: SyncContext, orphan: StoredObject): Promise<'done' | 'waiting' | 'retry'> {
  const spec = (orphan.object.spec ?? {}) as { cluster?: string; apiVersion?: string; kind?: string; namespace?: string; name?: string; federatedObject?: { resource?: string; namespace?: string; name?: string } };
  const cluster = spec.cluster ? ctx.clusters().get(spec.cluster) : undefined;
  const deleteOrphan = async () => {
    await ctx.store.delete(ORPHAN_RESOURCE, orphan.name, '', { uid: metaOf(orphan.object).uid }).catch((error: unknown) => {
      if (!(error instanceof FlotillaError) || (error.reason !== ErrorReason.NotFound && error.reason !== ErrorReason.Conflict)) throw error;
    });
  };
  if (!cluster || !spec.apiVersion || !spec.kind || !spec.name) {
    await deleteOrphan(); // the cluster left the fleet (or the orphan is malformed): nothing to clean
    return 'done';
  }
  if (!isReady(cluster) || !ctx.pool.applier(cluster.metadata.name)) return 'waiting';
  const f = spec.federatedObject ?? {};
  const federatedObject = federatedObjectKey(f.resource ?? '', f.namespace, f.name ?? '');
  const live = ctx.cache.get(federatedObject);
  const placedAgain = live && !metaOf(live.object).deletionTimestamp;
  if (!placedAgain) {
    const ref: MemberObjectRef = { apiVersion: spec.apiVersion, kind: spec.kind, name: spec.name, ...(spec.namespace ? { namespace: spec.namespace } : {}) };
    const outcome = await removeFrom(ctx, cluster.metadata.name, ref, federatedObject);
    if (outcome !== 'done') return 'retry';
  }
  await deleteOrphan();
  ctx.log.info({ cluster: cluster.metadata.name, orphan: orphan.name }, 'orphan cleaned');
  return 'done';
}
