import { type Cluster, type FederatedKindInfo, HASH_ANNOTATION, findCondition, summariseWorkload } from '@flotilla/domain';
import type { MemberApplier, MemberObjectRef } from '@flotilla/kube';
import { holdsDesired } from './desired';
import type { ClusterMemory, SyncContext } from './context';
import type { FederatedRef } from '../events/event-recorder';
import { isReady } from './placement';
import type { ClusterEntry } from './status';

/** How long a member's metadata watch may take to list before its applies read the member instead. */
const WAIT_FOR_WATCH_MS = 15_000;
/** Polling a workload that is not ready yet: from 1 s, doubling, at most this. */
const READY_POLL_MAX_MS = 30_000;
/** An edit in place is repaired at most once per hash in this window (a member that normalises a value must not loop). */
const REPAIR_EVERY_MS = 30_000;

export interface MemberJob {
  key: string;
  info: FederatedKindInfo;
  ref: FederatedRef;
  generation: number;
  seenAt: number;
  cluster: Cluster;
  desired: Record<string, unknown>;
  memberRef: MemberObjectRef;
  adopt: boolean;
  drift: 'repair' | 'report';
  /** Read the member even when the watch says it is unchanged (periodic resync). */
  verify: boolean;
  memory: ClusterMemory;
  /** The stored status said this generation was applied there (after a restart). */
  appliedBefore: boolean;
}

export interface MemberResult {
  entry: ClusterEntry;
  ready: boolean;
}

type ApplyOptions = Parameters<MemberApplier['apply']>[1];

const versionOf = (o: Record<string, unknown>) => (o.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;

const hashOf = (o: Record<string, unknown> | undefined) => ((o?.metadata as { annotations?: Record<string, string> } | undefined)?.annotations ?? {})[HASH_ANNOTATION];

/** Brings one member to the desired object: skip when the watch shows the hash, else apply (the applier reads first). */
export async function syncMember(ctx: SyncContext, job: MemberJob, pending: (delayMs: number) => void, firstSeen: Map<string, number>): Promise<MemberResult> {
  const name = job.cluster.metadata.name;
  const backoffKey = `${job.key}|${name}`;
  const fail = (status: 'Pending' | 'Failed', reason: string, message: string, retry: boolean): MemberResult => {
    if (retry) pending(ctx.backoff.next(backoffKey));
    return { entry: { name, status, reason, message }, ready: false };
  };
  const applier = ctx.pool.applier(name);
  if (!isReady(job.cluster) || !applier) {
    const why = findCondition(job.cluster.status?.conditions, 'Ready');
    return fail('Pending', 'ClusterNotReady', `cluster "${name}" is not ready${why?.reason ? ` (${why.reason})` : ''}; retrying`, true);
  }
  const hash = hashOf(job.desired);
  const synced = ctx.pool.synced(name);
  if (!synced) {
    // Until the member's metadata watch has listed, its hashes are unknown: wait a little rather than read every object.
    const since = firstSeen.get(name) ?? Date.now();
    firstSeen.set(name, since);
    if (Date.now() - since < WAIT_FOR_WATCH_MS) {
      pending(250);
      return { entry: { name, status: 'Pending', reason: 'ClusterNotReady', message: `waiting for the first list of cluster "${name}"` }, ready: false };
    }
  }
  const known = synced ? ctx.pool.knownHash(name, job.memberRef) : undefined;
  const m = job.memory;
  const weApplied = m.hash === hash || (m.hash === undefined && job.appliedBefore);
  // An edit in place (kubectl edit) keeps our hash: after a member event with another
  // resourceVersion, and at every resync, the member object itself is compared.
  let checked: Record<string, unknown> | undefined;
  let editedInPlace = false;
  if (synced && known === hash && (job.verify || (m.suspectVersion !== undefined && m.suspectVersion !== m.resourceVersion))) {
    checked = await applier.get(job.memberRef).catch(() => undefined);
    m.suspectVersion = undefined;
    if (checked && hashOf(checked) === hash && !holdsDesired(job.desired, checked)) {
      editedInPlace = !(m.repaired?.hash === hash && Date.now() - m.repaired.at < REPAIR_EVERY_MS);
    } else if (checked) m.resourceVersion = versionOf(checked);
  }
  // The watch may lag behind this replica's own apply: a report is confirmed by reading the member.
  const lagging = synced && weApplied && known !== hash;
  const drifted = editedInPlace || (lagging && (job.drift === 'repair' || hashOf(await applier.get(job.memberRef).catch(() => undefined)) !== hash));
  if (drifted && job.drift === 'report') {
    const message = known === undefined ? 'deleted in the member; drift policy is report' : 'changed in the member; drift policy is report';
    if (m.failure !== 'Drifted') void ctx.events.record(job.ref, { type: 'Warning', reason: 'Drifted', message, cluster: job.cluster });
    m.failure = 'Drifted';
    return { entry: { name, status: 'Failed', reason: 'Drifted', message }, ready: false };
  }
  const workload = !!job.info.workload;
  let object: Record<string, unknown> | undefined;
  if (synced && known === hash && !editedInPlace) {
    ctx.metrics.applied(name, 'unchanged');
    object = checked;
    if (!object && workload && (!m.summary?.ready || m.hash !== hash)) object = await applier.get(job.memberRef).catch(() => undefined);
  } else {
    // `force` re-applies an object that holds our hash but not our content (an edit in place).
    const owner = synced ? ctx.pool.knownOwner(name, job.memberRef) : undefined;
    const options: ApplyOptions = { adopt: job.adopt, ...(known === undefined || editedInPlace ? {} : { known: { hash: known, owner } }), ...(editedInPlace ? { force: true } : {}) };
    const outcome = await applier.apply(job.desired, options);
    if (outcome.result === 'failed') {
      ctx.metrics.applied(name, outcome.reason);
      const status = outcome.reason === 'ClusterNotReady' || outcome.reason.startsWith('WaitingFor') ? 'Pending' : 'Failed';
      if (m.failure !== outcome.reason) {
        m.failure = outcome.reason;
        void ctx.events.record(job.ref, { type: 'Warning', reason: outcome.reason === 'ApplyFailed' ? 'ApplyFailed' : outcome.reason, message: outcome.message, cluster: job.cluster });
      }
      const waiting = outcome.reason === 'WaitingForNamespace' || outcome.reason === 'WaitingForCRD';
      return fail(status, outcome.reason, outcome.message, outcome.retryable || waiting);
    }
    object = outcome.object;
    ctx.metrics.applied(name, outcome.unchanged ? 'unchanged' : 'applied');
    if (!outcome.unchanged) {
      m.resourceVersion = versionOf(outcome.object);
      ctx.metrics.propagated((Date.now() - job.seenAt) / 1000);
      if (editedInPlace) m.repaired = { hash: hash ?? '', at: Date.now() };
      if (weApplied || editedInPlace) {
        ctx.metrics.driftRepaired(name);
        void ctx.events.record(job.ref, { type: 'Normal', reason: 'DriftRepaired', message: `re-applied: the member object was ${known === undefined ? 'deleted' : 'changed'} outside Flotilla`, cluster: job.cluster });
      }
    }
  }
  if (m.failure) {
    m.failure = undefined;
    void ctx.events.record(job.ref, { type: 'Normal', reason: 'Applied', message: `applied to cluster "${name}"`, cluster: job.cluster });
  }
  ctx.backoff.reset(backoffKey);
  m.hash = hash;
  if (object) m.summary = summariseWorkload(job.memberRef.kind, object);
  else if (!workload) m.summary = { ready: true };
  const summary = m.summary ?? { ready: false };
  if (!summary.ready) pending(Math.min(READY_POLL_MAX_MS, ctx.backoff.next(`${backoffKey}|ready`)));
  else ctx.backoff.reset(`${backoffKey}|ready`);
  const { ready: _ready, ...counts } = summary;
  return { entry: { name, status: 'Applied', generation: job.generation, ...(workload ? counts : {}) }, ready: summary.ready };
}
