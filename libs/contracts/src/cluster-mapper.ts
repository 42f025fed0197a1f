import {
  CLUSTER_API_VERSION,
  CLUSTER_KIND,
  Cluster,
  ClusterCondition,
  ClusterStatus,
  ConditionStatus,
  ObjectMeta,
  parseManagedFieldsJson,
} from '@flotilla/domain';
import type * as pb from './generated/flotilla/registry/v1/registry';

/** Proto3 strings arrive as '' when unset; the REST shape leaves such fields out. */
const present = (value: string | undefined): value is string => value !== undefined && value !== '';
const nonEmpty = <T>(value: Record<string, T> | undefined): value is Record<string, T> =>
  value !== undefined && Object.keys(value).length > 0;

export function statusToProto(status: ClusterStatus | undefined): pb.ClusterStatus {
  const s = status ?? {};
  return {
    conditions: (s.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason ?? '',
      message: c.message ?? '',
      lastUpdateTime: c.lastUpdateTime ?? '',
      lastTransitionTime: c.lastTransitionTime ?? '',
    })),
    kubernetesVersion: s.kubernetesVersion ?? '',
    ...(s.nodeCount !== undefined ? { nodeCount: s.nodeCount } : {}),
    zones: s.zones ?? [],
    region: s.region ?? '',
    uid: s.uid ?? '',
    configz: s.configz ?? {},
    lastProbeTime: s.lastProbeTime ?? '',
  };
}

export function statusFromProto(status: pb.ClusterStatus | undefined): ClusterStatus {
  const s = status ?? {};
  const out: ClusterStatus = {};
  if (s.conditions && s.conditions.length > 0) {
    out.conditions = s.conditions.map((c) => {
      const cond: ClusterCondition = { type: c.type ?? '', status: (c.status ?? 'Unknown') as ConditionStatus };
      if (present(c.reason)) cond.reason = c.reason;
      if (present(c.message)) cond.message = c.message;
      if (present(c.lastUpdateTime)) cond.lastUpdateTime = c.lastUpdateTime;
      if (present(c.lastTransitionTime)) cond.lastTransitionTime = c.lastTransitionTime;
      return cond;
    });
  }
  if (present(s.kubernetesVersion)) out.kubernetesVersion = s.kubernetesVersion;
  if (s.nodeCount !== undefined && s.nodeCount !== null) out.nodeCount = s.nodeCount;
  if (s.zones && s.zones.length > 0) out.zones = s.zones;
  if (present(s.region)) out.region = s.region;
  if (present(s.uid)) out.uid = s.uid;
  if (nonEmpty(s.configz)) out.configz = s.configz;
  if (present(s.lastProbeTime)) out.lastProbeTime = s.lastProbeTime;
  return out;
}

/**
 * Domain -> wire. Credentials are carried only when `withCredentials` is set (a write
 * from the gateway); the registry never sets it on a response.
 */
export function clusterToProto(cluster: Cluster, withCredentials = false): pb.Cluster {
  const m = cluster.metadata;
  const c = cluster.spec.connection;
  return {
    apiVersion: cluster.apiVersion,
    kind: cluster.kind,
    metadata: {
      name: m.name,
      uid: m.uid ?? '',
      labels: m.labels ?? {},
      annotations: m.annotations ?? {},
      resourceVersion: m.resourceVersion ?? '',
      generation: String(m.generation ?? 0),
      creationTimestamp: m.creationTimestamp ?? '',
      deletionTimestamp: m.deletionTimestamp ?? '',
      finalizers: m.finalizers ?? [],
      // Unset ('') keeps the stored list on a write; [] clears it.
      managedFieldsJson: m.managedFields !== undefined ? JSON.stringify(m.managedFields) : '',
    },
    spec: {
      provider: cluster.spec.provider ?? '',
      description: cluster.spec.description ?? '',
      joinFederation: cluster.spec.joinFederation ?? false,
      externalKubeApiEnabled: cluster.spec.externalKubeAPIEnabled ?? false,
      connection: {
        type: c.type,
        kubernetesApiEndpoint: c.kubernetesAPIEndpoint ?? '',
        kubeconfig: withCredentials ? (c.kubeconfig ?? '') : '',
        token: withCredentials ? (c.token ?? '') : '',
      },
    },
    status: statusToProto(cluster.status),
  };
}

/** Wire -> domain. Credentials are read only when `withCredentials` is set (the registry reading a write). */
export function clusterFromProto(message: pb.Cluster, withCredentials = false): Cluster {
  const m = message.metadata ?? {};
  const spec = message.spec ?? {};
  const conn = spec.connection ?? {};
  const metadata: ObjectMeta = { name: m.name ?? '' };
  if (present(m.uid)) metadata.uid = m.uid;
  if (nonEmpty(m.labels)) metadata.labels = m.labels;
  if (nonEmpty(m.annotations)) metadata.annotations = m.annotations;
  if (present(m.resourceVersion)) metadata.resourceVersion = m.resourceVersion;
  if (present(m.generation) && m.generation !== '0') metadata.generation = Number(m.generation);
  if (present(m.creationTimestamp)) metadata.creationTimestamp = m.creationTimestamp;
  if (present(m.deletionTimestamp)) metadata.deletionTimestamp = m.deletionTimestamp;
  if (m.finalizers && m.finalizers.length > 0) metadata.finalizers = m.finalizers;
  // Checked as validateClusterInput checks it (bounded size, entries' shape): Invalid otherwise.
  const managedFields = parseManagedFieldsJson(m.managedFieldsJson, metadata.name);
  if (managedFields !== undefined) metadata.managedFields = managedFields;
  const cluster: Cluster = {
    apiVersion: CLUSTER_API_VERSION,
    kind: CLUSTER_KIND,
    metadata,
    spec: { connection: { type: conn.type ?? '' } },
  };
  if (present(conn.kubernetesApiEndpoint)) cluster.spec.connection.kubernetesAPIEndpoint = conn.kubernetesApiEndpoint;
  if (withCredentials && present(conn.kubeconfig)) cluster.spec.connection.kubeconfig = conn.kubeconfig;
  if (withCredentials && present(conn.token)) cluster.spec.connection.token = conn.token;
  if (present(spec.provider)) cluster.spec.provider = spec.provider;
  if (present(spec.description)) cluster.spec.description = spec.description;
  if (spec.joinFederation) cluster.spec.joinFederation = true;
  if (spec.externalKubeApiEnabled) cluster.spec.externalKubeAPIEnabled = true;
  const status = statusFromProto(message.status);
  if (Object.keys(status).length > 0) cluster.status = status;
  return cluster;
}
