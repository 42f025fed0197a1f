import { type Cluster, type ClusterCondition, ClusterConditionType } from '@flotilla/domain';
import { ClusterFollower, type ClusterFollowerChange, type ClusterFollowerRegistry } from '@flotilla/clients';

/**
 * Cluster labels for live clusterSelector bindings (the authorizer's view). Same shape as the one
 * in authz/: declared here too so the mirror does not depend on the authorizer.
 */
export interface ClusterLabelSource {
  labelsOf(cluster: string): Record<string, string> | undefined;
  onLabelsChanged(listener: () => void): () => void;
}

/** A cluster that was added, changed or removed (after is undefined), as the mirror applied it. */
export type ClusterChangeListener = (name: string, before: Cluster | undefined, after: Cluster | undefined) => void;

export type MirrorRegistry = ClusterFollowerRegistry;

/** Why a cluster is not Ready, from its Ready condition. */
export interface Readiness {
  ready: boolean;
  reason: string;
  message: string;
}

const sameLabels = (a: Record<string, string> = {}, b: Record<string, string> = {}) => {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
};

/**
 * The fleet as the registry knows it, in this gateway replica's memory, kept by libs/clients'
 * ClusterFollower: ListClusters (paged), then WatchClusters resumed from the last resourceVersion
 * seen; a 410 Expired re-lists. Nothing assumes the watch restarts by itself.
 *
 * The proxy reads it on every request (no registry round trip on the hot path); the authorizer
 * reads labels for clusterSelector bindings.
 */
export class ClusterMirror implements ClusterLabelSource {
  private readonly labelListeners = new Set<() => void>();
  private readonly changeListeners = new Set<ClusterChangeListener>();
  private readonly follower: ClusterFollower;
  /** Resolves once the first list has been applied. */
  readonly synced: Promise<void>;

  constructor(
    registry: MirrorRegistry,
    private readonly onError: (error: unknown) => void = () => undefined,
    pageSize = 500,
  ) {
    this.follower = new ClusterFollower(registry, { pageSize, onError, onChanges: (changes) => this.applied(changes) });
    this.synced = this.follower.synced;
  }

  get isSynced(): boolean {
    return this.follower.isSynced;
  }

  start(): void {
    this.follower.start();
  }

  stop(): void {
    this.follower.stop();
  }

  get(name: string): Cluster | undefined {
    return this.follower.clusters.get(name);
  }

  names(): string[] {
    return [...this.follower.clusters.keys()];
  }

  /** The Ready condition, as the health probe wrote it (Unknown until it has). */
  readiness(name: string): Readiness | undefined {
    const cluster = this.follower.clusters.get(name);
    if (!cluster) return undefined;
    const c: ClusterCondition | undefined = cluster.status?.conditions?.find((x) => x.type === ClusterConditionType.Ready);
    return { ready: c?.status === 'True', reason: c?.reason ?? 'Unknown', message: c?.message ?? 'the health probe has not reported on this cluster yet' };
  }

  ready(name: string): boolean {
    return this.readiness(name)?.ready ?? false;
  }

  labelsOf(cluster: string): Record<string, string> | undefined {
    const c = this.follower.clusters.get(cluster);
    return c ? (c.metadata.labels ?? {}) : undefined;
  }

  onLabelsChanged(listener: () => void): () => void {
    this.labelListeners.add(listener);
    return () => this.labelListeners.delete(listener);
  }

  /** Every applied change (the proxy drops cached credentials on a spec or annotation change). */
  onChange(listener: ClusterChangeListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Tells change listeners about each change, and label listeners once when any labels changed (or a cluster came or went). */
  private applied(changes: readonly ClusterFollowerChange[]): void {
    let labelsChanged = false;
    for (const { name, before, after } of changes) {
      for (const listener of this.changeListeners) {
        try {
          listener(name, before, after);
        } catch (error) {
          this.onError(error);
        }
      }
      labelsChanged ||= !before || !after || !sameLabels(before.metadata.labels, after.metadata.labels);
    }
    if (labelsChanged) this.notifyLabels();
  }

  private notifyLabels(): void {
    for (const listener of this.labelListeners) {
      try {
        listener();
      } catch (error) {
        this.onError(error);
      }
    }
  }
}
