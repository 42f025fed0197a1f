import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { type Cluster, ErrorReason, FEDERATED_KINDS, FlotillaError, PlacementIndex } from '@flotilla/domain';
import { ClusterFollower, type ClusterFollowerChange, ObjectFollower } from '@flotilla/clients';
import type { ManagedEvent } from '@flotilla/kube';
import { CONFIG, REDIS, RUNTIME, ReplicaMembership, ServiceRuntime } from '@flotilla/service-kit';
import type { FederationSyncConfig } from './config';
import { type CacheChanges, FederationCache } from './cache/federation-cache';
import { EventRecorder } from './events/event-recorder';
import { MEMBER_POOL, type MemberPool } from './members/member-pool';
import { syncMetrics } from './metrics';
import { Backoff, WorkQueue } from './queue/work-queue';
import type { SyncContext } from './reconcile/context';
import { cleanOrphan } from './reconcile/deletion';
import { memberRef } from './reconcile/desired';
import { isReady } from './reconcile/placement';
import { Reconciler } from './reconcile/reconciler';
import { REGISTRY_PORT, type RegistryPort } from './registry/registry-port';

const ORPHAN_PREFIX = 'orphan:';

/**
 * Wires the controller (ADR 0035): followers of the stored federated objects, IAM bindings and
 * the fleet; sharding by rendezvous over live replicas; a work queue keyed by object, fed by
 * object, cluster, IAM and member changes and a periodic resync; reconciles through the pool.
 */
@Injectable()
export class FederationSyncService implements OnApplicationBootstrap {
  readonly membership: ReplicaMembership;
  readonly cache = new FederationCache();
  readonly queue: WorkQueue;
  readonly reconciler: Reconciler;
  readonly fleet: ClusterFollower;
  private readonly index = new PlacementIndex();
  private readonly objects: ObjectFollower;
  private readonly iam: ObjectFollower;
  private resyncTimer?: NodeJS.Timeout;
  private startTimer?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private stopped = false;
  /** `<apiVersion>|<kind>` of every kind placed anywhere: watched in every member. */
  private readonly watched = new Set<string>();
  private readonly ctx: SyncContext;

  constructor(
    @Inject(CONFIG) private readonly config: FederationSyncConfig,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(REDIS) redis: Redis,
    @Inject(REGISTRY_PORT) registry: RegistryPort,
    @Inject(MEMBER_POOL) private readonly pool: MemberPool,
  ) {
    const log = runtime.logger;
    this.membership = new ReplicaMembership(redis, {
      keyPrefix: config.FLOTILLA_QUEUE_PREFIX,
      group: 'federation-sync',
      ttlMs: config.FLOTILLA_FEDERATION_LEASE_TTL_MS,
      heartbeatMs: config.FLOTILLA_FEDERATION_LEASE_HEARTBEAT_MS,
      replicaId: config.FLOTILLA_FEDERATION_REPLICA_ID,
    });
    this.queue = new WorkQueue((key) => this.work(key), config.FLOTILLA_FEDERATION_RECONCILE_CONCURRENCY, (key, error) => {
      log.warn({ object: key, err: safeMessage(error) }, 'reconcile failed; retrying');
      this.queue.after(key, ctx.backoff.next(`${key}|reconcile`));
    });
    const ctx: SyncContext = {
      cache: this.cache,
      clusters: () => this.fleet.clusters,
      index: () => this.index,
      pool,
      store: registry.store,
      events: new EventRecorder(registry.store, (e) => registry.recordClusterEvent(e), (error) => log.warn({ err: safeMessage(error) }, 'recording a federation event failed')),
      metrics: syncMetrics(runtime.metrics.registry, () => pool.queueDepths(), () => this.queue.depth),
      backoff: new Backoff(500, config.FLOTILLA_FEDERATION_MAX_BACKOFF_MS),
      orphanAfterMs: config.FLOTILLA_FEDERATION_ORPHAN_AFTER_SECONDS * 1000,
      log,
      requeue: (key, ms) => this.queue.after(key, ms),
    };
    this.reconciler = new Reconciler(ctx);
    this.ctx = ctx;
    // Changes are pushed by the registry's WatchObjectChanges stream (ADR 0036); the poll interval
    // is the fallback for a registry that does not serve it.
    const follow = (what: string) => ({
      pollMs: config.FLOTILLA_FEDERATION_POLL_MS,
      onError: (error: unknown, failures: number) => log.warn({ err: safeMessage(error), failures, what }, 'following the object store failed; retrying'),
      onGone: () => log.info({ what }, 'change log compacted; listing again'),
    });
    this.objects = new ObjectFollower(registry.store, {
      ...follow('federated objects'),
      onSync: (listings) => this.changed(this.cache.sync(listings)),
      onChanges: (changes) => this.changed(this.cache.apply(changes)),
    });
    this.iam = new ObjectFollower(registry.store, {
      ...follow('IAM bindings'),
      onSync: (listings) => this.changed(this.cache.sync(listings)),
      onChanges: (changes) => this.changed(this.cache.apply(changes)),
    });
    this.fleet = new ClusterFollower(registry.clusters, {
      onChanges: (changes) => this.fleetChanged(changes),
      onError: (error) => log.warn({ err: safeMessage(error) }, 'following the fleet failed; resuming'),
    });
    this.membership.onChange(() => this.everything());
    runtime.shutdown.onDrain('federation-sync', () => this.stop());
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.membership.start();
    this.watch(FEDERATED_KINDS.flatMap((k) => (k.target ? [{ apiVersion: k.target.apiVersion, kind: k.target.kind }] : [])));
    this.unsubscribe = this.pool.onMemberChange((cluster, e) => this.memberChanged(cluster, e));
    // One heartbeat first, so the other replicas have seen this one before it takes objects.
    this.startTimer = setTimeout(() => {
      this.fleet.start();
      this.objects.sync(this.cache.objectResources());
      this.iam.sync(this.cache.iamResources());
    }, this.config.FLOTILLA_FEDERATION_LEASE_HEARTBEAT_MS);
    this.startTimer.unref();
    this.resyncTimer = setInterval(() => this.resync(), this.config.FLOTILLA_FEDERATION_RESYNC_SECONDS * 1000);
    this.resyncTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.startTimer) clearTimeout(this.startTimer);
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.unsubscribe?.();
    this.fleet.stop();
    await Promise.all([this.objects.stop(), this.iam.stop()]);
    await this.membership.stop();
    await this.queue.stop();
    await this.pool.close();
  }

  /** Every owned object is compared with its members (reads, applies only what differs). */
  resync(): void {
    for (const key of this.cache.keys()) {
      if (!this.membership.owns(key)) continue;
      this.reconciler.verify.add(key);
      this.queue.add(key);
    }
  }

  private async work(key: string): Promise<void> {
    if (key.startsWith(ORPHAN_PREFIX)) {
      const name = key.slice(ORPHAN_PREFIX.length);
      const orphan = this.cache.orphan(name);
      if (!orphan || !this.membership.owns(key)) return;
      const outcome = await cleanOrphan(this.ctx, orphan);
      if (outcome === 'retry') this.queue.after(key, this.ctx.backoff.next(key));
      else if (outcome === 'done') this.ctx.backoff.reset(key);
      return;
    }
    if (!this.membership.owns(key)) return this.reconciler.forget(key);
    await this.reconciler.reconcile(key);
  }

  private add(key: string): void {
    if (this.membership.owns(key)) this.queue.add(key);
  }

  private everything(): void {
    for (const key of this.cache.keys()) this.add(key);
    for (const o of this.cache.orphans()) this.add(ORPHAN_PREFIX + o.name);
  }

  /** Adds kinds to the members' metadata watch (never removed: a kind once placed may still have objects to watch). */
  private watch(kinds: { apiVersion: string; kind: string }[]): void {
    const before = this.watched.size;
    for (const k of kinds) this.watched.add(`${k.apiVersion}|${k.kind}`);
    if (this.watched.size === before && before > 0) return;
    this.pool.watchKinds([...this.watched].map((k) => ({ apiVersion: k.split('|')[0]!, kind: k.split('|')[1]! })));
  }

  private changed(c: CacheChanges): void {
    const kinds: { apiVersion: string; kind: string }[] = [];
    for (const key of c.objects) {
      const stored = this.cache.get(key);
      const info = stored && this.cache.kinds.get(stored.resource);
      const ref = info && !info.target ? memberRef(info, stored.object) : undefined;
      if (ref) kinds.push(ref);
    }
    if (kinds.length > 0) this.watch(kinds);
    if (c.iam) return this.everything();
    for (const key of c.objects) this.add(key);
    for (const ns of c.namespaces) for (const key of this.cache.keysInNamespace(ns)) this.add(key);
    for (const name of c.orphans) this.add(ORPHAN_PREFIX + name);
  }

  private fleetChanged(changes: readonly ClusterFollowerChange[]): void {
    for (const c of changes) {
      if (c.after) this.index.set({ name: c.name, labels: c.after.metadata.labels ?? {} });
      else this.index.delete(c.name);
    }
    void this.pool.sync([...this.fleet.clusters.values()]).catch((error: unknown) => this.runtime.logger.warn({ err: safeMessage(error) }, 'updating member connections failed'));
    const relevant = changes.filter((c) => placementRelevant(c.before, c.after));
    if (relevant.length === 0) return;
    // Labels, readiness or membership of the fleet moved: placement and retries of every object may change.
    for (const key of this.cache.keys()) this.add(key);
    const back = new Set(relevant.filter((c) => c.after && isReady(c.after) && !(c.before && isReady(c.before))).map((c) => c.name));
    for (const o of this.cache.orphans()) {
      const cluster = (o.object.spec as { cluster?: string } | undefined)?.cluster;
      if (!cluster || back.has(cluster) || !this.fleet.clusters.has(cluster)) this.add(ORPHAN_PREFIX + o.name);
    }
  }

  /** A managed member object changed or vanished: reconcile its federated object (drift is decided there). */
  private memberChanged(cluster: string, e: ManagedEvent): void {
    if (e.type === 'RELISTED') {
      for (const key of this.reconciler.placedOn(cluster)) this.add(key);
      return;
    }
    if (!e.federatedObject || !this.cache.get(e.federatedObject)) return;
    this.reconciler.noteMemberChange(e.federatedObject, cluster, e.resourceVersion);
    this.add(e.federatedObject);
  }
}

/** A fleet change that can move placement: a cluster added or removed, its labels or its readiness changed. */
function placementRelevant(before: Cluster | undefined, after: Cluster | undefined): boolean {
  if (!before || !after) return true;
  if (isReady(before) !== isReady(after)) return true;
  return JSON.stringify(before.metadata.labels ?? {}) !== JSON.stringify(after.metadata.labels ?? {});
}

/** Error messages with anything that looks like a credential cut out. */
export function safeMessage(error: unknown): string {
  if (error instanceof FlotillaError && error.reason === ErrorReason.Gone) return 'the change log no longer reaches back';
  const m = error instanceof Error ? error.message : String(error);
  return m.replace(/(bearer|token|password|key|data)[^,;]*/gi, '$1 [redacted]').slice(0, 300);
}
