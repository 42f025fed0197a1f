import { Inject, Injectable } from '@nestjs/common';
import { CLUSTER_API_VERSION, CLUSTER_KIND, ClusterErrors, ClusterEvent, ErrorReason, FlotillaError, dns1123LabelErrors } from '@flotilla/domain';
import { CLUSTER_EVENTS_CLIENT, ClusterEventsClient, REGISTRY_CLIENT, RegistryClient } from '@flotilla/clients';

/** A core/v1 Event as kubectl and the Kubernetes client libraries know it. */
export interface KubeEvent {
  apiVersion: 'v1';
  kind: 'Event';
  metadata: { name: string; resourceVersion?: string; creationTimestamp: string; annotations: Record<string, string> };
  involvedObject: { apiVersion: string; kind: string; name: string; uid: string; fieldPath: string };
  reason: string;
  message: string;
  type: 'Normal' | 'Warning';
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source: { component: string };
  reportingComponent: string;
  reportingInstance: string;
  action: string;
}

export interface KubeEventList {
  apiVersion: 'v1';
  kind: 'EventList';
  metadata: { resourceVersion: string };
  items: KubeEvent[];
}

export function toKubeEvent(e: ClusterEvent): KubeEvent {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      name: e.name,
      ...(e.resourceVersion ? { resourceVersion: e.resourceVersion } : {}),
      creationTimestamp: e.eventTime,
      annotations: { 'health.flotilla.io/condition': e.conditionType, 'health.flotilla.io/from': e.fromStatus, 'health.flotilla.io/to': e.toStatus },
    },
    involvedObject: { apiVersion: CLUSTER_API_VERSION, kind: CLUSTER_KIND, name: e.clusterName, uid: e.clusterUid, fieldPath: `status.conditions[type=${e.conditionType}]` },
    reason: e.reason,
    message: e.message,
    type: e.type,
    count: 1,
    firstTimestamp: e.eventTime,
    lastTimestamp: e.eventTime,
    source: { component: e.reportingComponent },
    reportingComponent: e.reportingComponent,
    reportingInstance: '',
    action: `${e.conditionType}=${e.toStatus}`,
  };
}

/** GET .../clusters/{name}/events: the cluster's recorded transitions, newest first. */
@Injectable()
export class ClusterEventsApiService {
  constructor(
    @Inject(CLUSTER_EVENTS_CLIENT) private readonly events: ClusterEventsClient,
    @Inject(REGISTRY_CLIENT) private readonly registry: RegistryClient,
  ) {}

  async list(name: string, limit?: string): Promise<KubeEventList> {
    if (dns1123LabelErrors(name).length > 0) throw ClusterErrors.notFound(name);
    let n: number | undefined;
    if (limit !== undefined) {
      n = Number(limit);
      if (!Number.isInteger(n) || n < 0) throw new FlotillaError(ErrorReason.BadRequest, `limit must be a non-negative whole number, got "${limit}"`);
    }
    const { items, version } = await this.events.listWithVersion(name, n);
    // Events outlive a removed cluster until pruned; with none and no cluster, say NotFound.
    if (items.length === 0) await this.registry.getCluster(name);
    return { apiVersion: 'v1', kind: 'EventList', metadata: { resourceVersion: version }, items: items.map(toKubeEvent) };
  }
}
