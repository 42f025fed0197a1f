import { CLUSTER_API_VERSION, CLUSTER_KIND, Cluster, ManagedFieldsEntry } from '@flotilla/domain';
import { ClusterEntity } from './cluster.entity';

const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A stored record as the API shows it. The entity holds no credentials, so none can leak here. */
export function toCluster(e: ClusterEntity): Cluster {
  const cluster: Cluster = {
    apiVersion: CLUSTER_API_VERSION,
    kind: CLUSTER_KIND,
    metadata: {
      name: e.name,
      uid: e.uid,
      resourceVersion: String(e.resourceVersion),
      generation: Number(e.generation),
      creationTimestamp: isoSeconds(e.creationTimestamp),
    },
    spec: e.spec,
    status: e.status,
  };
  if (Object.keys(e.labels).length > 0) cluster.metadata.labels = e.labels;
  if (Object.keys(e.annotations).length > 0) cluster.metadata.annotations = e.annotations;
  if (e.finalizers.length > 0) cluster.metadata.finalizers = e.finalizers;
  if (Array.isArray(e.managedFields) && e.managedFields.length > 0) cluster.metadata.managedFields = e.managedFields as ManagedFieldsEntry[];
  if (e.deletionTimestamp) cluster.metadata.deletionTimestamp = isoSeconds(e.deletionTimestamp);
  return cluster;
}

/**
 * The record of a cluster the registry has validated and stamped (uid, resourceVersion,
 * generation, creationTimestamp). The spec must hold no credentials: they are stored apart.
 */
export function toClusterEntity(c: Cluster): ClusterEntity {
  const { uid, resourceVersion, generation, creationTimestamp } = c.metadata;
  if (!uid || !resourceVersion || generation === undefined || !creationTimestamp) {
    throw new Error(`cluster ${c.metadata.name} is not stamped for storage (uid, resourceVersion, generation, creationTimestamp)`);
  }
  return Object.assign(new ClusterEntity(), {
    uid,
    name: c.metadata.name,
    labels: c.metadata.labels ?? {},
    annotations: c.metadata.annotations ?? {},
    finalizers: c.metadata.finalizers ?? [],
    managedFields: c.metadata.managedFields ?? [],
    resourceVersion,
    generation: String(generation),
    creationTimestamp: new Date(creationTimestamp),
    deletionTimestamp: c.metadata.deletionTimestamp ? new Date(c.metadata.deletionTimestamp) : null,
    spec: c.spec,
    status: c.status ?? {},
  });
}
