import { Inject, Injectable } from '@nestjs/common';
import { Cluster, ConnectionType, ImportAnnotations, ImportJobOrphan, SERVICE_ACCOUNT_CREDENTIALS, UNBIND_FINALIZER, importJobName } from '@flotilla/domain';
import {
  CLUSTER_ROLE_BINDING_NAME,
  MARKER_NAME,
  MARKER_NAMESPACE,
  MemberClient,
  POSSIBLE_OBJECTS,
  MemberUnavailableError,
  importCheckOptions,
  parseKubeconfig,
  removeFromMember,
} from '@flotilla/kube';
import { JobName } from '@flotilla/queue';
import type { ClusterRemovePayload, JobContext } from '@flotilla/queue';
import { IMPORT_JOBS_CLIENT, ImportJobsClient } from '@flotilla/clients';
import { CONFIG, RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import type { ProviderImportConfig } from '../config';
import { ClusterRecords } from '../import/cluster-records';
import { ClusterJob, runClusterJob } from '../jobs/cluster-job';
import { JobRecorder } from '../jobs/job-recorder';

/** Steps of the import job that write to the member (see ImportService). */
const MEMBER_WRITING_STEPS = ['RetrieveLastingKubeconfig', 'WriteMarker'];

/**
 * Everything Flotilla may have put in a member, reported when the member cannot be cleaned: the
 * marker, its namespace and the cluster-admin binding of earlier imports; on the service-account
 * path also the identity and its member role (ADR 0029).
 */
function everythingLeft(cluster: Cluster, reason: string): ImportJobOrphan[] {
  if ((cluster.metadata.annotations ?? {})[ImportAnnotations.credentials] === SERVICE_ACCOUNT_CREDENTIALS) {
    return POSSIBLE_OBJECTS.map((o) => ({ kind: o.kind, ...(o.namespace ? { namespace: o.namespace } : {}), name: o.name, reason }));
  }
  return [
    { kind: 'ConfigMap', namespace: MARKER_NAMESPACE, name: MARKER_NAME, reason },
    { kind: 'Namespace', name: MARKER_NAMESPACE, reason },
    { kind: 'ClusterRoleBinding', name: CLUSTER_ROLE_BINDING_NAME, reason },
  ];
}

/**
 * Unbinds a cluster marked for deletion: 1. stop its probes and syncs (they skip clusters with a
 * deletionTimestamp); 2. clean the member; 3. delete its credentials; 4. remove the record.
 * Every step is idempotent, so a retry after a crash finishes the job.
 */
@Injectable()
export class RemovalService {
  constructor(
    private readonly records: ClusterRecords,
    @Inject(IMPORT_JOBS_CLIENT) private readonly jobs: ImportJobsClient,
    @Inject(CONFIG) private readonly config: ProviderImportConfig,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
  ) {}

  private readonly job: ClusterJob = {
    type: 'remove',
    queueJob: JobName.ClusterRemove,
    // Only a cluster marked for deletion that still holds the unbind finalizer.
    applies: (cluster) => !!cluster.metadata.deletionTimestamp && (cluster.metadata.finalizers ?? []).includes(UNBIND_FINALIZER),
    steps: (cluster, job) => this.unbind(cluster, job),
    failed: async (error, _cluster, job, attempts) => {
      // BullMQ retries (every step is idempotent); the last attempt says why the cluster stays marked.
      if (attempts.last) {
        await job.finish('Failed', `removal gave up after ${attempts.max} attempts: ${error instanceof Error ? error.message : String(error)}; the cluster stays marked for deletion: fix the cause, then retry the failed cluster.remove job, or remove the finalizer cluster.flotilla.io/unbind by hand (what is in the member then stays there)`);
      }
      throw error;
    },
  };

  run(payload: ClusterRemovePayload, context?: JobContext): Promise<void> {
    return runClusterJob({ findCluster: (name) => this.records.find(name), reports: this.jobs, logger: this.runtime.logger }, this.job, payload, context);
  }

  private async unbind(cluster: Cluster, job: JobRecorder): Promise<void> {
    const { name, uid } = cluster.metadata;
    await job.step('StopProbesAndSyncs', 10, 'the cluster carries a deletionTimestamp: probes and syncs skip it from now on');

    await job.step('CleanMember', 20);
    const orphans = await this.cleanMember(cluster, job);
    job.orphans(orphans);

    if ((cluster.metadata.annotations ?? {})[ImportAnnotations.removeFederatedResources] === 'true') {
      await job.skip('RemoveFederatedResources', 'no federated resources: federation-sync has propagated nothing to this member');
    }

    await job.step('DeleteCredentials', 80, 'the credentials are deleted with the record (same transaction, ON DELETE CASCADE)');
    await job.step('RemoveRecord', 90);
    await this.records.update(name, uid!, (c) => {
      c.metadata.finalizers = (c.metadata.finalizers ?? []).filter((f) => f !== UNBIND_FINALIZER);
      return c;
    });
    const message =
      orphans.length > 0
        ? `removed from Flotilla; left in the member (remove by hand): ${orphans.map((o) => `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`).join(', ')}`
        : 'removed from Flotilla and from the member';
    await job.finish('Succeeded', message);
  }

  /** True when the import job failed before its first write to the member (service account, marker). */
  private async importNeverWroteToMember(cluster: Cluster): Promise<boolean> {
    if (cluster.status?.uid) return false;
    const records = await this.jobs.list(cluster.metadata.name);
    const imported = records.find((j) => j.metadata.name === importJobName('import', cluster.metadata.uid!));
    if (!imported || imported.status.state !== 'Failed') return false;
    return !imported.status.steps.some((s) => MEMBER_WRITING_STEPS.includes(s.name));
  }

  /** Cleans the member, waiting up to the bound for an unreachable one (or not at all with force). */
  private async cleanMember(cluster: Cluster, job: JobRecorder): Promise<ImportJobOrphan[]> {
    if (cluster.spec.connection.type !== ConnectionType.Direct) return [];
    if (await this.importNeverWroteToMember(cluster)) {
      await job.skip('CleanMember', 'the import failed before it wrote anything to the member: nothing to remove there');
      return [];
    }
    const { kubeconfig } = await this.records.credentials(cluster.metadata.name);
    if (!kubeconfig) return [];
    let client: MemberClient;
    try {
      const { context, allowInsecureSkipTlsVerify, allowProxyUrl, policy } = importCheckOptions(cluster, this.config, kubeconfig);
      client = new MemberClient(parseKubeconfig(kubeconfig, { context, allowInsecureSkipTlsVerify, allowProxyUrl }), Math.min(this.config.IMPORT_CONNECT_TIMEOUT_MS, 5_000), { policy });
    } catch {
      return everythingLeft(cluster, 'the stored kubeconfig is unusable, so the member could not be cleaned');
    }
    try {
      return await this.cleanReachable(cluster, client, job);
    } finally {
      client.close();
    }
  }

  private async cleanReachable(cluster: Cluster, client: MemberClient, job: JobRecorder): Promise<ImportJobOrphan[]> {
    const deletedAt = new Date(cluster.metadata.deletionTimestamp!).getTime();
    for (let attempt = 1; ; attempt++) {
      try {
        return await removeFromMember(client, this.config.FLOTILLA_HOST_ID);
      } catch (error) {
        if (!(error instanceof MemberUnavailableError)) throw error;
        const latest = await this.records.find(cluster.metadata.name);
        const forced = (latest?.metadata.annotations ?? {})[ImportAnnotations.forceRemoval] === 'true';
        const waited = Date.now() - deletedAt;
        if (forced || waited >= this.config.REMOVAL_UNREACHABLE_BOUND_MS) {
          const why = forced ? 'removal was forced while the member was unreachable' : `the member stayed unreachable for ${Math.round(waited / 1000)} s (bound ${this.config.REMOVAL_UNREACHABLE_BOUND_MS / 1000} s)`;
          return everythingLeft(cluster, `${why}: ${error.message}`);
        }
        if (attempt === 1) await job.step('CleanMember', 30, `the member does not answer (${error.message}); retrying until the bound`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}
