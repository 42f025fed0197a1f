import type { Provider } from '@nestjs/common';
import { Observable, map } from 'rxjs';
import type { Cluster, ClusterEvent } from '@flotilla/domain';
import { ClusterEventsClient, CredentialsReaderClient, RegistryClient } from '@flotilla/clients';
import { CONFIG, RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import type { HealthProbeConfig } from './config';
import type { StatusWrite, StatusWriteResult } from './status-writer';

/** One page of the fleet, as ListClusters returns it. */
export interface ClusterPage {
  items: Cluster[];
  /** The list's version: watch from here. */
  resourceVersion: string;
  /** Empty on the last page. */
  continue: string;
}

/** One change of the fleet, as WatchClusters streams it. */
export interface FleetChange {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  cluster?: Cluster;
}

/** The stored credentials of a member (never logged). */
export interface MemberCredentials {
  kubeconfig?: string;
  token?: string;
}

/** When a cluster was last probed (RFC 3339). */
export interface ProbeTime {
  name: string;
  time: string;
}

/**
 * Everything health-probe asks of the registry, in domain types. The rest of the service sees only
 * this port; `registryPort` below is the one place that talks to the registry's gRPC clients.
 */
export interface RegistryPort {
  listClusters(page: { limit: number; continue: string }): Promise<ClusterPage>;
  watchClusters(fromResourceVersion: string): Observable<FleetChange>;
  credentials(name: string): Promise<MemberCredentials>;
  /**
   * Many clusters' credentials in one call (BatchGetClusterCredentials). A name missing from the
   * answer is not a stored cluster; `error` says why a cluster's credentials cannot be opened.
   */
  credentialsBatch(names: string[]): Promise<Map<string, MemberCredentials | { error: string }>>;
  /** Many status writes in one call (UpdateClusterStatuses, at most 500); results[i] answers writes[i]. */
  writeStatuses(writes: StatusWrite[]): Promise<StatusWriteResult[]>;
  /** Last probe times, at most 10,000 a call; the registry keeps them in a Redis hash (ADR 0021). */
  recordProbeTimes(entries: ProbeTime[]): Promise<void>;
  /** A health transition, stored and listed by the registry (idempotent by the event's name). */
  recordEvent(event: ClusterEvent): Promise<void>;
}

export const REGISTRY_PORT = Symbol('health-probe.registry-port');

/** The registry port over the registry's gRPC clients (internal token for credentials, probe times and events). */
export function registryPort(registry: RegistryClient, events: ClusterEventsClient, reader: CredentialsReaderClient): RegistryPort {
  return {
    async listClusters(page) {
      const list = await registry.listClusters({ limit: page.limit, continue: page.continue });
      return { items: list.items, resourceVersion: list.metadata.resourceVersion, continue: list.metadata.continue ?? '' };
    },
    watchClusters(fromResourceVersion) {
      return registry
        .watchClusters({ resourceVersion: fromResourceVersion, allowBookmarks: true })
        .pipe(map((e): FleetChange => (e.type === 'BOOKMARK' ? { type: 'BOOKMARK' } : { type: e.type, cluster: e.object })));
    },
    async credentials(name) {
      const c = await registry.getClusterCredentials(name);
      return { ...(c.kubeconfig ? { kubeconfig: c.kubeconfig } : {}), ...(c.token ? { token: c.token } : {}) };
    },
    async credentialsBatch(names) {
      const { items } = await reader.batchGet(names);
      const out = new Map<string, MemberCredentials | { error: string }>();
      for (const i of items) {
        out.set(i.name, i.error ? { error: i.error } : { ...(i.kubeconfig ? { kubeconfig: i.kubeconfig } : {}), ...(i.token ? { token: i.token } : {}) });
      }
      return out;
    },
    writeStatuses: (writes) => registry.updateClusterStatuses(writes),
    async recordProbeTimes(entries) {
      await registry.recordProbeTimes(entries);
    },
    async recordEvent(event) {
      await events.record(event);
    },
  };
}

/** The port as a Nest provider, with its own clients (closed at shutdown) from REGISTRY_GRPC_URL and the internal token. */
export const registryPortProvider: Provider = {
  provide: REGISTRY_PORT,
  inject: [CONFIG, RUNTIME],
  useFactory: (config: HealthProbeConfig, runtime: ServiceRuntime): RegistryPort => {
    const registry = new RegistryClient(config.REGISTRY_GRPC_URL, config.FLOTILLA_INTERNAL_TOKEN);
    const events = new ClusterEventsClient(config.REGISTRY_GRPC_URL, config.FLOTILLA_INTERNAL_TOKEN);
    const reader = new CredentialsReaderClient(config.REGISTRY_GRPC_URL, config.FLOTILLA_INTERNAL_TOKEN);
    runtime.shutdown.onClose('registry-port', async () => {
      registry.close();
      events.close();
      reader.close();
    });
    return registryPort(registry, events, reader);
  },
};
