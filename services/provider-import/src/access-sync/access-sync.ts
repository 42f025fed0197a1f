import { type Cluster, ClusterConditionType, ConnectionType, ImportAnnotations, SERVICE_ACCOUNT_CREDENTIALS, findCondition } from '@flotilla/domain';
import type { ObjectStore } from '@flotilla/clients';
import { MemberAccessConflictError, MemberAccessRefusedError, type MemberAccessResult, type RoleMap, memberAccessChoice } from '@flotilla/kube';
import { ClusterFollower, type FollowerRegistry } from './cluster-follower';
import { IamIndex } from './desired-access';
import { IamFollower } from './iam-follower';

export type SyncResult = 'applied' | 'unchanged' | 'refused' | 'conflict' | 'failed' | 'invalid';

export interface DesiredAccess {
  users: string[];
  roleMap: RoleMap;
}

export interface AccessSyncDeps {
  store: Pick<ObjectStore, 'list' | 'changes'>;
  registry: FollowerRegistry;
  /** Brings one member to `desired` with the cluster's stored credentials (syncMemberAccess). */
  apply(cluster: Cluster, desired: DesiredAccess): Promise<MemberAccessResult>;
  /** Once per refusal streak: tell the operator (a cluster event, or a log line) how to fix it. */
  refused(cluster: Cluster, error: MemberAccessRefusedError): Promise<void>;
  observe(result: SyncResult): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface AccessSyncOptions {
  resyncMs: number;
  concurrency: number;
  pollMs: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

interface Entry {
  uid: string;
  /** metadata.generation seen: a spec change (new credentials by rotation) ends a backoff at once. */
  generation?: number;
  /** The desired state last applied with success (its key), undefined when a check is due. */
  applied?: string;
  failures: number;
  retryAt: number;
  refusedNotified: boolean;
  /** The annotation values last found invalid: logged once per value. */
  invalidLogged?: string;
}

/** Clusters the sync serves: direct, on the service-account path, imported and Ready, not being removed. */
export function syncable(cluster: Cluster): boolean {
  return (
    !cluster.metadata.deletionTimestamp &&
    cluster.spec.connection.type === ConnectionType.Direct &&
    (cluster.metadata.annotations ?? {})[ImportAnnotations.credentials] === SERVICE_ACCOUNT_CREDENTIALS &&
    findCondition(cluster.status?.conditions, ClusterConditionType.Initialized)?.status === 'True' &&
    findCondition(cluster.status?.conditions, ClusterConditionType.Ready)?.status === 'True'
  );
}

/**
 * Keeps each member's impersonation objects in step with Flotilla's bindings (ADR 0030): follows
 * the IAM objects and the clusters, computes each cluster's desired users, and applies to each
 * syncable member whose desired state changed, at most `concurrency` at once, with backoff on
 * failure; at start and every `resyncMs` every cluster is checked again (a read, and a write only
 * where the member drifted).
 */
export class AccessSync {
  private readonly iam: IamFollower;
  private readonly fleet: ClusterFollower;
  private readonly entries = new Map<string, Entry>();
  /** Clusters due a check (some waiting out a backoff: see Entry.retryAt). */
  private readonly dirty = new Set<string>();
  private readonly running = new Set<string>();
  private index?: IamIndex;
  private resyncTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private stopped = true;
  private started?: Promise<void>;

  constructor(
    private readonly deps: AccessSyncDeps,
    private readonly options: AccessSyncOptions,
  ) {
    const onError = (what: string) => (error: unknown) => deps.warn({ err: error instanceof Error ? error.message : String(error) }, `access sync: ${what} failed; retrying`);
    this.iam = new IamFollower(deps.store, () => this.iamChanged(), { pollMs: options.pollMs, onError: onError('following IAM objects') });
    this.fleet = new ClusterFollower(deps.registry, (name) => this.evaluate(name), onError('watching clusters'));
  }

  /** Clusters whose member is not yet known to match (queued, running or backing off). */
  get pending(): number {
    return new Set([...this.dirty, ...this.running]).size;
  }

  /** Starts following; the first full check of every cluster begins once both lists are in. */
  start(): Promise<void> {
    this.stopped = false;
    this.iam.start();
    this.fleet.start();
    this.started = Promise.all([this.iam.synced, this.fleet.synced]).then(() => {
      if (this.stopped) return;
      this.resync();
      if (this.options.resyncMs > 0) {
        this.resyncTimer = setInterval(() => this.resync(), this.options.resyncMs);
        this.resyncTimer.unref();
      }
    });
    return this.started;
  }

  stop(): void {
    this.stopped = true;
    this.iam.stop();
    this.fleet.stop();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  /** Every cluster checked again (what drifted by hand in a member is repaired). */
  resync(): void {
    for (const e of this.entries.values()) e.applied = undefined;
    for (const name of this.fleet.clusters.keys()) this.evaluate(name);
  }

  private iamChanged(): void {
    this.index = undefined;
    for (const name of this.fleet.clusters.keys()) this.evaluate(name);
  }

  /** The desired state of a syncable cluster with impersonation on; undefined to skip it. */
  private desired(cluster: Cluster, entry: Entry): DesiredAccess | undefined {
    if (!syncable(cluster)) return undefined;
    let choice;
    try {
      choice = memberAccessChoice(cluster.metadata.annotations);
    } catch (error) {
      const key = JSON.stringify(cluster.metadata.annotations ?? {});
      if (entry.invalidLogged !== key) {
        entry.invalidLogged = key;
        this.deps.observe('invalid');
        this.deps.warn({ cluster: cluster.metadata.name, err: (error as Error).message }, 'access sync skips a cluster with an invalid annotation');
      }
      return undefined;
    }
    if (!choice.impersonation) return undefined;
    this.index ??= new IamIndex(this.iam.state);
    return { users: this.index.usersFor({ name: cluster.metadata.name, labels: cluster.metadata.labels }), roleMap: { ...choice.roleMap } };
  }

  private entryOf(cluster: Cluster): Entry {
    const uid = cluster.metadata.uid ?? '';
    let e = this.entries.get(cluster.metadata.name);
    if (!e || e.uid !== uid) {
      e = { uid, failures: 0, retryAt: 0, refusedNotified: false };
      this.entries.set(cluster.metadata.name, e);
    }
    if (e.generation !== cluster.metadata.generation) {
      e.generation = cluster.metadata.generation;
      e.applied = undefined;
      e.retryAt = 0;
    }
    return e;
  }

  private evaluate(name: string): void {
    const cluster = this.fleet.clusters.get(name);
    if (!cluster) {
      this.entries.delete(name);
      this.dirty.delete(name);
      return;
    }
    const entry = this.entryOf(cluster);
    const desired = this.desired(cluster, entry);
    if (!desired) {
      this.dirty.delete(name);
      return;
    }
    if (entry.applied !== JSON.stringify(desired)) {
      this.dirty.add(name);
      this.pump();
    }
  }

  private pump(): void {
    if (this.stopped) return;
    const now = Date.now();
    let nextRetry = Infinity;
    for (const name of this.dirty) {
      if (this.running.size >= this.options.concurrency) return;
      if (this.running.has(name)) continue;
      const retryAt = this.entries.get(name)?.retryAt ?? 0;
      if (retryAt > now) {
        nextRetry = Math.min(nextRetry, retryAt);
        continue;
      }
      this.dirty.delete(name);
      this.running.add(name);
      void this.run(name).finally(() => {
        this.running.delete(name);
        this.pump();
      });
    }
    if (nextRetry !== Infinity) {
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.pump(), nextRetry - now);
      this.retryTimer.unref();
    }
  }

  private async run(name: string): Promise<void> {
    const cluster = this.fleet.clusters.get(name);
    if (!cluster) return;
    const entry = this.entryOf(cluster);
    const desired = this.desired(cluster, entry);
    if (!desired) return;
    try {
      const result = await this.deps.apply(cluster, desired);
      entry.applied = JSON.stringify(desired);
      entry.failures = 0;
      entry.retryAt = 0;
      entry.refusedNotified = false;
      this.deps.observe(result.written.length > 0 ? 'applied' : 'unchanged');
    } catch (error) {
      const result: SyncResult = error instanceof MemberAccessRefusedError ? 'refused' : error instanceof MemberAccessConflictError ? 'conflict' : 'failed';
      this.deps.observe(result);
      entry.failures++;
      const base = this.options.backoffBaseMs ?? 5_000;
      const max = this.options.backoffMaxMs ?? 300_000;
      // A refusal or a conflict waits for a person: retried slowly (and at every resync).
      entry.retryAt = Date.now() + (result === 'failed' ? Math.min(max, base * 2 ** Math.min(entry.failures - 1, 16)) : max);
      this.dirty.add(name);
      if (error instanceof MemberAccessRefusedError && !entry.refusedNotified) {
        entry.refusedNotified = true;
        await this.deps.refused(cluster, error).catch((e: unknown) => this.deps.warn({ cluster: name, err: e instanceof Error ? e.message : String(e) }, 'access sync could not record the refusal'));
      }
      if (result !== 'refused' || entry.failures === 1) {
        this.deps.warn({ cluster: name, attempt: entry.failures, result, err: error instanceof Error ? error.message : String(error) }, 'access sync could not update the member');
      }
    }
  }
}
