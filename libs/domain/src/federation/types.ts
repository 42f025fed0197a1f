import type { ObjectMeta } from '../cluster/cluster';
import type { LabelSelector } from '../iam/iam';

/** Metadata of a federated object as stored (namespaced kinds carry a namespace). */
export interface FederatedObjectMeta extends ObjectMeta {
  namespace?: string;
}

/** kubefed's placement: clusters by name and/or a label selector over Clusters (both: the union). */
export interface FederatedPlacement {
  clusters?: { name: string }[];
  clusterSelector?: LabelSelector;
}

export interface ClusterOverrideOp {
  /** Default replace. */
  op?: 'add' | 'remove' | 'replace';
  /** A JSON pointer into the template, e.g. `/spec/replicas`. */
  path: string;
  value?: unknown;
}

export interface FederatedOverride {
  clusterName: string;
  clusterOverrides: ClusterOverrideOp[];
}

export interface FederatedCondition {
  type: 'Propagation' | 'Ready' | string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
}

export type FederatedClusterState = 'Applied' | 'Pending' | 'Failed' | 'Removed' | 'Orphaned';

export interface FederatedClusterStatus {
  name: string;
  status: FederatedClusterState;
  /** The federated object's generation applied there. */
  generation?: number;
  reason?: string;
  message?: string;
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
}

export interface FederatedStatus {
  observedGeneration?: number;
  conditions?: FederatedCondition[];
  clusters?: FederatedClusterStatus[];
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
}

/** Every federated kind (kubefed's types.kubefed.io kinds and Flotilla's FederatedObject / ClusterFederatedObject). */
export interface FederatedObject {
  apiVersion: string;
  kind: string;
  metadata: FederatedObjectMeta;
  spec: {
    /** The object to place; FederatedObject's carries its own apiVersion and kind. */
    template: Record<string, unknown>;
    placement?: FederatedPlacement;
    overrides?: FederatedOverride[];
  };
  status?: FederatedStatus;
}

export interface ReplicaClusterPreference {
  weight?: number;
  minReplicas?: number;
  maxReplicas?: number;
}

export interface ReplicaSchedulingPreferenceSpec {
  targetKind: 'FederatedDeployment' | 'FederatedStatefulSet';
  totalReplicas: number;
  rebalance?: boolean;
  /** By cluster name, or "*" for every cluster not named. */
  clusters?: Record<string, ReplicaClusterPreference>;
}

/** kubefed's scheduling.kubefed.io/v1alpha1 ReplicaSchedulingPreference; its name is the target federated object's. */
export interface ReplicaSchedulingPreference {
  apiVersion: 'scheduling.kubefed.io/v1alpha1';
  kind: 'ReplicaSchedulingPreference';
  metadata: FederatedObjectMeta;
  spec: ReplicaSchedulingPreferenceSpec;
}

/** A member object that stayed behind (its member was unreachable when it should have been removed). */
export interface Orphan {
  apiVersion: 'federation.flotilla.io/v1alpha1';
  kind: 'Orphan';
  metadata: { name: string; labels: Record<string, string>; resourceVersion?: string; creationTimestamp?: string };
  spec: {
    cluster: string;
    apiVersion: string;
    kind: string;
    namespace?: string;
    name: string;
    federatedObject: { resource: string; namespace: string; name: string; uid: string };
    /** RFC 3339. */
    since: string;
  };
}
