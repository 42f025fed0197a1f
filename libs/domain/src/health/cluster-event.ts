import { HealthTransition } from './health';

/** One recorded change of a cluster's condition (a Ready transition), as the registry stores it. */
export interface ClusterEvent {
  /** <cluster>.<hex milliseconds>: a retried record of the same transition is stored once. */
  name: string;
  clusterName: string;
  clusterUid: string;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  conditionType: string;
  fromStatus: string;
  toStatus: string;
  eventTime: string;
  reportingComponent: string;
  resourceVersion?: string;
}

/** Newest events kept per cluster; older ones are pruned when a new one is stored. */
export const CLUSTER_EVENTS_PER_CLUSTER = 200;
/** Events older than this are pruned whatever the cluster (also those of removed clusters). */
export const CLUSTER_EVENT_RETENTION_DAYS = 14;

export function clusterEventFromTransition(cluster: { name: string; uid: string }, t: HealthTransition, at: Date, component = 'health-probe'): ClusterEvent {
  return {
    name: `${cluster.name}.${at.getTime().toString(16)}`,
    clusterName: cluster.name,
    clusterUid: cluster.uid,
    type: t.to === 'True' ? 'Normal' : 'Warning',
    reason: t.reason,
    message: t.message,
    conditionType: 'Ready',
    fromStatus: t.from,
    toStatus: t.to,
    eventTime: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    reportingComponent: component,
  };
}
