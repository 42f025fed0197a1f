import { ErrorReason, FlotillaError, type FederatedKindInfo, federationPolicies, memberObjectFor } from '@flotilla/domain';
import type { StoredObject } from '@flotilla/clients';
import type { ClusterMemory, ObjectMemory, SyncContext } from './context';
import { memberRef, replicaOverrides, withReplicas } from './desired';
import { type MemberResult, syncMember } from './member-sync';
import { computePlacement } from './placement';
import { type ClusterEntry, buildStatus, sameStatus } from './status';
import { metaOf, statusOf, writeStatus } from './status-writer';
import { removeEverywhere, removeFrom } from './deletion';
import type { FederatedRef } from '../events/event-recorder';

type Json = Record<string, unknown>;

/** Entries whose member never held our object: nothing to remove when the cluster leaves the placement. */
const NEVER_APPLIED = new Set(['Forbidden', 'NamespaceNotFederated', 'Conflict', 'ClusterNotFound']);

export function federatedRef(info: FederatedKindInfo, stored: StoredObject): FederatedRef {
  const m = metaOf(stored.object);
  return { apiVersion: `${info.group}/${info.version}`, kind: info.kind, namespace: stored.namespace, name: stored.name, uid: m.uid ?? '' };
}

/**
 * Reconciles one federated object (ADR 0035): placement, desired member objects, applies through
 * the member pool, removals, status write-back. Keeps a little memory per object and member.
 */
export class Reconciler {
  private readonly memory = new Map<string, ObjectMemory>();
  /** When each member first appeared without its watch listed (see syncMember). */
  private readonly firstSeen = new Map<string, number>();
  /** Keys to read their members this time (periodic resync). */
  readonly verify = new Set<string>();

  constructor(private readonly ctx: SyncContext) {}

  /** Members this object was placed on (for a member's relist or return). */
  placedOn(cluster: string): string[] {
    return [...this.memory].filter(([, m]) => m.clusters.has(cluster)).map(([k]) => k);
  }

  /** A member reported a change of our object there: compare it at the next reconcile unless it is the version we applied. */
  noteMemberChange(key: string, cluster: string, resourceVersion: string | undefined): void {
    const m = this.memory.get(key)?.clusters.get(cluster);
    if (m && resourceVersion && resourceVersion !== m.resourceVersion) m.suspectVersion = resourceVersion;
  }

  forget(key: string): void {
    const m = this.memory.get(key);
    this.memory.delete(key);
    this.verify.delete(key);
    this.ctx.backoff.forget(`${key}|`);
    if (m) this.ctx.events.forget(m.uid);
  }

  async reconcile(key: string): Promise<void> {
    const stored = this.ctx.cache.get(key);
    const info = stored && this.ctx.cache.kinds.get(stored.resource);
    if (!stored || !info) return this.forget(key);
    const verify = this.verify.delete(key);
    const meta = metaOf(stored.object);
    const mem = this.memoryOf(key, stored);
    const ref = federatedRef(info, stored);
    const mref = memberRef(info, stored.object);
    if (meta.deletionTimestamp) {
      const done = await removeEverywhere(this.ctx, { key, info, stored, ref, memberRef: mref, memory: mem });
      if (done) this.forget(key);
      return;
    }
    const policies = federationPolicies(meta.annotations ?? {});
    const ns = info.namespaced && info.kind !== 'FederatedNamespace' ? this.ctx.cache.federatedNamespace(stored.namespace)?.object : undefined;
    const placement = computePlacement({ info, object: stored.object, clusters: this.ctx.clusters(), index: this.ctx.index(), federatedNamespace: ns, bindings: this.ctx.cache.bindings() });
    const entries: ClusterEntry[] = [...placement.withheld].map(([name, w]) => ({ name, ...w }));
    const notReady: string[] = [];
    let templateError: string | undefined;
    let nextMs = Number.POSITIVE_INFINITY;
    const pending = (ms: number) => (nextMs = Math.min(nextMs, ms));
    const prev = statusOf(stored.object);
    const generation = meta.generation ?? 1;
    if (placement.place.length > 0) {
      try {
        const template = info.kind === 'FederatedSecret' ? await this.unsealed(stored, mem) : stored.object;
        const rsp = this.ctx.cache.replicaPreference(stored.namespace, stored.name)?.object;
        const replicas = replicaOverrides(info, rsp, placement.place.filter((c) => placement.ready.has(c)));
        const results = await Promise.all(
          placement.place.map(async (name): Promise<MemberResult> => {
            const cluster = this.ctx.clusters().get(name)!;
            let desired: Json;
            try {
              desired = memberObjectFor(info, withReplicas(template, name, replicas?.get(name)), name) as Json;
            } catch (error) {
              templateError = error instanceof Error ? error.message : String(error);
              return { entry: { name, status: 'Failed', reason: 'ApplyFailed', message: `the template cannot be placed: ${templateError}` }, ready: false };
            }
            const memory = this.clusterMemory(mem, name);
            const before = prev?.clusters?.find((c) => c.name === name);
            return syncMember(
              this.ctx,
              { key, info, ref, generation, seenAt: mem.seenAt, cluster, desired, memberRef: mref!, adopt: policies.adopt, drift: policies.drift, verify, memory, appliedBefore: before?.status === 'Applied' && before.generation === generation },
              pending,
              this.firstSeen,
            ).catch((error: unknown): MemberResult => {
              pending(this.ctx.backoff.next(`${key}|${name}`));
              return { entry: { name, status: 'Failed', reason: 'ApplyFailed', message: error instanceof Error ? error.message.slice(0, 300) : 'apply failed' }, ready: false };
            });
          }),
        );
        for (const r of results) {
          entries.push(r.entry);
          if (r.entry.status === 'Applied' && !r.ready) notReady.push(r.entry.name);
        }
      } catch (error) {
        if (!(error instanceof FlotillaError) || error.reason !== ErrorReason.NotFound) throw error;
        return; // deleted meanwhile: the change log brings the deletion
      }
    }
    // Clusters no longer placed: removed unless retain; withheld ones keep their entry.
    const placed = new Set(placement.place);
    const previously = new Set([...(prev?.clusters ?? []).filter((c) => !NEVER_APPLIED.has(c.reason ?? '')).map((c) => c.name), ...mem.clusters.keys()]);
    for (const name of previously) {
      if (placed.has(name)) continue;
      if (policies.retain || !mref) {
        mem.clusters.delete(name);
        continue;
      }
      const outcome = await removeFrom(this.ctx, name, mref, key);
      if (outcome === 'done') {
        mem.clusters.delete(name);
        this.ctx.backoff.reset(`${key}|${name}|remove`);
        if (!placement.withheld.has(name)) void this.ctx.events.record(ref, { type: 'Normal', reason: 'Removed', message: `removed from cluster "${name}": no longer placed` });
      } else {
        pending(this.ctx.backoff.next(`${key}|${name}|remove`));
        if (!placement.withheld.has(name)) entries.push({ name, status: 'Pending', reason: 'Removing', message: outcome.message });
      }
    }
    const status = buildStatus(prev, { generation, clusters: entries, notReady, templateError, workload: !!info.workload });
    if (!sameStatus(prev, status)) await writeStatus(this.ctx, stored, status);
    if (Number.isFinite(nextMs)) this.ctx.requeue(key, nextMs);
  }

  private memoryOf(key: string, stored: StoredObject): ObjectMemory {
    const meta = metaOf(stored.object);
    const generation = meta.generation ?? 1;
    let m = this.memory.get(key);
    if (!m || m.uid !== (meta.uid ?? '')) {
      m = { uid: meta.uid ?? '', generation, seenAt: Date.now(), clusters: new Map() };
      this.memory.set(key, m);
    } else if (m.generation !== generation) {
      m.generation = generation;
      m.seenAt = Date.now();
      m.unsealed = undefined;
    }
    return m;
  }

  private clusterMemory(mem: ObjectMemory, name: string): ClusterMemory {
    let c = mem.clusters.get(name);
    if (!c) mem.clusters.set(name, (c = {}));
    return c;
  }

  /** A FederatedSecret's plaintext, unsealed once per generation (the stored/listed object has no data). */
  private async unsealed(stored: StoredObject, mem: ObjectMemory): Promise<Json> {
    if (!mem.unsealed) mem.unsealed = (await this.ctx.store.unseal(stored.resource, stored.name, stored.namespace)).object;
    return mem.unsealed;
  }
}
