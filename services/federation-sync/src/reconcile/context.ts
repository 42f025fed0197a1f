import type { Cluster, PlacementIndex } from '@flotilla/domain';
import type { MemberPool } from '../members/member-pool';
import type { FederationCache } from '../cache/federation-cache';
import type { EventRecorder } from '../events/event-recorder';
import type { SyncMetrics } from '../metrics';
import type { Backoff } from '../queue/work-queue';
import type { SyncStore } from '../registry/registry-port';

/** What this replica remembers of one member object (rebuilt from status after a restart). */
export interface ClusterMemory {
  /** The hash last applied or confirmed in the member. */
  hash?: string;
  summary?: { replicas?: number; readyReplicas?: number; availableReplicas?: number; ready: boolean };
  /** Last failure reason reported (an event is recorded when it changes). */
  failure?: string;
  /** The member object's resourceVersion as last applied or checked by this replica. */
  resourceVersion?: string;
  /** A member event reported another resourceVersion: compare the member object with the desired one. */
  suspectVersion?: string;
  /** When an edit in place was last repaired, and for which hash (at most one repair per hash per 30 s: no loop on a member that normalises a value). */
  repaired?: { hash: string; at: number };
  /** During deletion: since when the member could not be reached. */
  unreachableSince?: number;
}

export interface ObjectMemory {
  uid: string;
  /** The generation and when this replica first saw it (propagation latency). */
  generation: number;
  seenAt: number;
  clusters: Map<string, ClusterMemory>;
  /** FederatedSecret plaintext for this generation (never logged; dropped with the memory). */
  unsealed?: Record<string, unknown>;
}

export interface Logger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** Everything a reconcile needs; built once by the service. */
export interface SyncContext {
  cache: FederationCache;
  clusters(): ReadonlyMap<string, Cluster>;
  /** The fleet by label (placement in O(matching)). */
  index(): PlacementIndex;
  pool: MemberPool;
  store: SyncStore;
  events: EventRecorder;
  metrics: SyncMetrics;
  backoff: Backoff;
  orphanAfterMs: number;
  log: Logger;
  /** Reconcile `key` again after `ms` (the earliest wish wins). */
  requeue(key: string, ms: number): void;
}
