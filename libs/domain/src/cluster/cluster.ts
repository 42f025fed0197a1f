/**
 * The Cluster resource, shaped like KubeSphere's cluster.kubesphere.io/v1alpha1 Cluster
 * so that KubeSphere users can reuse their YAML.
 */
export const CLUSTER_API_GROUP = 'cluster.kubesphere.io';
export const CLUSTER_API_VERSION = `${CLUSTER_API_GROUP}/v1alpha1`;
export const CLUSTER_KIND = 'Cluster';
export const CLUSTER_LIST_KIND = 'ClusterList';

/** Label that marks the host cluster, as KubeSphere does. */
export const HOST_CLUSTER_LABEL = 'cluster-role.kubesphere.io/host';

/** Providers Flotilla knows; the field stays open to others (any DNS-1123 label). */
export const KNOWN_PROVIDERS = ['kubeadm', 'aliyun-ack', 'aws-eks', 'generic'] as const;

export enum ConnectionType {
  Direct = 'direct',
  /** Agent connection: an agent inside the member dials out to the host. */
  Proxy = 'proxy',
}

export enum ClusterConditionType {
  Initialized = 'Initialized',
  AgentAvailable = 'AgentAvailable',
  Federated = 'Federated',
  Ready = 'Ready',
  Schedulable = 'Schedulable',
  KubeConfigCertExpiresInSevenDays = 'KubeConfigCertExpiresInSevenDays',
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface ClusterCondition {
  type: string;
  status: ConditionStatus;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

/**
 * One entry of metadata.managedFields (server-side apply's field ownership, FieldsV1): which
 * manager owns which field paths. Paths only: never a field's value.
 */
export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update' | string;
  apiVersion: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

export interface ObjectMeta {
  name: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  /** Who owns which fields (server-side apply); on a write, absent keeps the stored list. */
  managedFields?: ManagedFieldsEntry[];
}

export interface Connection {
  type: ConnectionType | string;
  kubernetesAPIEndpoint?: string;
  /** Write-only: accepted on create and update, never returned. */
  kubeconfig?: string;
  /** Write-only: accepted on create and update, never returned. */
  token?: string;
}

export interface ClusterSpec {
  provider?: string;
  description?: string;
  joinFederation?: boolean;
  externalKubeAPIEnabled?: boolean;
  connection: Connection;
}

export interface ClusterStatus {
  conditions?: ClusterCondition[];
  kubernetesVersion?: string;
  nodeCount?: number;
  zones?: string[];
  region?: string;
  /** The member's kube-system namespace UID: the cluster's identity. */
  uid?: string;
  configz?: Record<string, boolean>;
  /**
   * Read-only, RFC 3339: when the health probe last probed the cluster (any result). Served by the
   * registry from its probe-time store, never stored with the status nor written through it (ADR 0021).
   */
  lastProbeTime?: string;
}

export interface Cluster {
  apiVersion: typeof CLUSTER_API_VERSION;
  kind: typeof CLUSTER_KIND;
  metadata: ObjectMeta;
  spec: ClusterSpec;
  status?: ClusterStatus;
}

/** Credentials as the registry holds them: never part of a Cluster that leaves the registry. */
export interface ClusterCredentials {
  kubeconfig?: string;
  token?: string;
}

/** Splits the write-only credentials off a cluster so the rest can be stored and shown. */
export function splitCredentials(cluster: Cluster): { cluster: Cluster; credentials: ClusterCredentials } {
  const { kubeconfig, token, ...connection } = cluster.spec.connection;
  const credentials: ClusterCredentials = {};
  if (kubeconfig !== undefined) credentials.kubeconfig = kubeconfig;
  if (token !== undefined) credentials.token = token;
  return { cluster: { ...cluster, spec: { ...cluster.spec, connection } }, credentials };
}
