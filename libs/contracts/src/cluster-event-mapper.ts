import type { ClusterEvent } from '@flotilla/domain';
import type * as pb from './generated/flotilla/registry/v1/events';

export function clusterEventToProto(e: ClusterEvent): pb.ClusterEvent {
  return {
    name: e.name,
    clusterName: e.clusterName,
    clusterUid: e.clusterUid,
    type: e.type,
    reason: e.reason,
    message: e.message,
    conditionType: e.conditionType,
    fromStatus: e.fromStatus,
    toStatus: e.toStatus,
    eventTime: e.eventTime,
    reportingComponent: e.reportingComponent,
    resourceVersion: e.resourceVersion ?? '',
  };
}

export function clusterEventFromProto(m: pb.ClusterEvent): ClusterEvent {
  const e: ClusterEvent = {
    name: m.name ?? '',
    clusterName: m.clusterName ?? '',
    clusterUid: m.clusterUid ?? '',
    type: m.type === 'Normal' ? 'Normal' : 'Warning',
    reason: m.reason ?? '',
    message: m.message ?? '',
    conditionType: m.conditionType ?? '',
    fromStatus: m.fromStatus ?? '',
    toStatus: m.toStatus ?? '',
    eventTime: m.eventTime ?? '',
    reportingComponent: m.reportingComponent ?? '',
  };
  if (m.resourceVersion) e.resourceVersion = m.resourceVersion;
  return e;
}
