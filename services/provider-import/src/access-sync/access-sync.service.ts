import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy, Optional, type Provider } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import type { Cluster, ClusterEvent } from '@flotilla/domain';
import { CLUSTER_EVENTS_CLIENT, ClusterEventsClient, OBJECT_STORE, type ObjectStore, REGISTRY_CLIENT, RegistryClient } from '@flotilla/clients';
import { type ImportPolicyConfig, MemberAccessRefusedError, memberClient, memberPolicyOf, syncMemberAccess } from '@flotilla/kube';
import { CONFIG, RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import { ClusterRecords } from '../import/cluster-records';
import { AccessSync, type DesiredAccess } from './access-sync';
import type { AccessSyncConfig } from './access-sync-config';

type Config = AccessSyncConfig & ImportPolicyConfig & { IMPORT_CONNECT_TIMEOUT_MS: number };

/** The cluster event a refusing member gets (once per refusal streak), naming the fix. */
export function refusalEvent(cluster: Cluster, error: MemberAccessRefusedError, at: Date): ClusterEvent {
  return {
    name: `${cluster.metadata.name}.${at.getTime().toString(16)}`,
    clusterName: cluster.metadata.name,
    clusterUid: cluster.metadata.uid ?? '',
    type: 'Warning',
    reason: 'ImpersonationSyncRefused',
    message: error.message,
    conditionType: 'ImpersonationSync',
    fromStatus: 'Unknown',
    toStatus: 'False',
    eventTime: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    reportingComponent: 'provider-import',
  };
}

/**
 * provider-import's access sync (ADR 0030) as a Nest provider: the loop of AccessSync over the
 * registry's object store and cluster watch, each member reached with its stored credentials under
 * the member address policy, metrics `flotilla_access_sync_applied_total{result}` and
 * `flotilla_access_sync_pending`. A refusal becomes a cluster event when the events client is
 * provided (the registry must let provider-import call RecordClusterEvent), a warning otherwise.
 */
@Injectable()
export class AccessSyncService implements OnApplicationBootstrap, OnModuleDestroy {
  readonly sync: AccessSync;

  constructor(
    @Inject(CONFIG) private readonly config: Config,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(OBJECT_STORE) store: ObjectStore,
    @Inject(REGISTRY_CLIENT) registry: RegistryClient,
    private readonly records: ClusterRecords,
    @Optional() @Inject(CLUSTER_EVENTS_CLIENT) private readonly events?: ClusterEventsClient,
  ) {
    const registers = [runtime.metrics.registry];
    const applied = new Counter({
      name: 'flotilla_access_sync_applied_total',
      help: 'Member impersonation syncs by result (applied: written; unchanged: the member matched; refused: 403, see the cluster event; conflict; failed; invalid annotation)',
      labelNames: ['result'],
      registers,
    });
    const policy = memberPolicyOf(config);
    this.sync = new AccessSync(
      {
        store,
        registry,
        apply: (cluster, desired) => this.apply(cluster, desired, policy),
        refused: (cluster, error) => this.refused(cluster, error),
        observe: (result) => applied.inc({ result }),
        warn: (fields, message) => runtime.logger.warn(fields, message),
      },
      {
        resyncMs: config.FLOTILLA_ACCESS_SYNC_RESYNC_SECONDS * 1000,
        concurrency: config.FLOTILLA_ACCESS_SYNC_CONCURRENCY,
        pollMs: config.FLOTILLA_ACCESS_SYNC_POLL_MS,
      },
    );
    const sync = this.sync;
    new Gauge({
      name: 'flotilla_access_sync_pending',
      help: 'Clusters whose member is not yet known to match the desired impersonation (queued, running or backing off)',
      registers,
      collect() {
        this.set(sync.pending);
      },
    });
  }

  onApplicationBootstrap(): void {
    if (!this.config.FLOTILLA_ACCESS_SYNC_ENABLED) return;
    void this.sync.start();
  }

  onModuleDestroy(): void {
    this.sync.stop();
  }

  private async apply(cluster: Cluster, desired: DesiredAccess, policy: ReturnType<typeof memberPolicyOf>) {
    const { kubeconfig } = await this.records.credentials(cluster.metadata.name);
    const client = memberClient(cluster, { kubeconfig }, policy, { timeoutMs: this.config.IMPORT_CONNECT_TIMEOUT_MS, allowProxyUrl: this.config.FLOTILLA_ALLOW_PROXY_URL });
    try {
      return await syncMemberAccess(client, desired);
    } finally {
      client.close();
    }
  }

  private async refused(cluster: Cluster, error: MemberAccessRefusedError): Promise<void> {
    this.runtime.logger.warn({ cluster: cluster.metadata.name, err: error.message }, 'a member refused the impersonation sync');
    if (this.events) await this.events.record(refusalEvent(cluster, error, new Date()));
  }
}

/** Everything the access sync adds to provider-import (spread into PROVIDER_IMPORT.providers). */
export const ACCESS_SYNC_PROVIDERS: Provider[] = [AccessSyncService];
