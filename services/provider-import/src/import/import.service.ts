import { Inject, Injectable } from '@nestjs/common';
import {
  Cluster,
  ClusterConditionType,
  ClusterCondition,
  ConnectionType,
  ErrorReason,
  FlotillaError,
  ImportAnnotations,
  MEMBER_UID_LABEL,
  SERVICE_ACCOUNT_CREDENTIALS,
  findCondition,
} from '@flotilla/domain';
import {
  IMPORT_CHECKS,
  ImportCheck,
  KUBECONFIG_FIELD,
  MemberClient,
  memberPolicyOf,
  MemberFacts,
  kubeconfigCertCondition,
  createServiceAccountKubeconfig,
  MEMBER_ROLE_ANNOTATION,
  MemberObject,
  OwnerReference,
  memberAccessChoice,
  memberRoleChoice,
  expectSameMember,
  importCheckOptions,
  parseKubeconfig,
  runImportChecks,
  writeMarker,
} from '@flotilla/kube';
import { JobName } from '@flotilla/queue';
import type { ClusterImportPayload, JobContext } from '@flotilla/queue';
import { IMPORT_JOBS_CLIENT, ImportJobsClient } from '@flotilla/clients';
import { CONFIG, RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import type { ProviderImportConfig } from '../config';
import { ClusterJob, JobAttempts, runClusterJob } from '../jobs/cluster-job';
import { JobRecorder } from '../jobs/job-recorder';
import { ProviderRegistry } from '../providers/provider-registry';
import { ClusterRecords } from './cluster-records';
import { memberRoleCondition } from '../credentials/member-role-condition';

/** Share of the progress bar each check takes (10 checks, 5-65 %). */
const checkPercent = (index: number) => 5 + index * 6;

/** What the import of one cluster does, step by step (issue 4, "Import by direct connection"). */
@Injectable()
export class ImportService {
  constructor(
    private readonly records: ClusterRecords,
    private readonly providers: ProviderRegistry,
    @Inject(IMPORT_JOBS_CLIENT) private readonly jobs: ImportJobsClient,
    @Inject(CONFIG) private readonly config: ProviderImportConfig,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
  ) {}

  private readonly job: ClusterJob = {
    type: 'import',
    queueJob: JobName.ClusterImport,
    // Not while being removed; agent (proxy) connections import themselves.
    applies: (cluster) => !cluster.metadata.deletionTimestamp && cluster.spec.connection.type === ConnectionType.Direct,
    steps: (cluster, job) => this.importCluster(cluster, job),
    failed: (error, cluster, job, attempts) => this.failed(error, cluster, job, attempts),
  };

  run(payload: ClusterImportPayload, context?: JobContext): Promise<void> {
    return runClusterJob({ findCluster: (name) => this.records.find(name), reports: this.jobs, logger: this.runtime.logger }, this.job, payload, context);
  }

  private async failed(error: unknown, cluster: Cluster, job: JobRecorder, attempts: JobAttempts): Promise<void> {
    if (error instanceof FlotillaError) return this.fail(cluster, job, error);
    // Transient (registry or member hiccup): BullMQ retries; the last attempt records the failure.
    if (!attempts.last) throw error;
    const message = error instanceof Error ? error.message : String(error);
    await this.fail(cluster, job, new FlotillaError(ErrorReason.ServiceUnavailable, `${KUBECONFIG_FIELD}: the import gave up after ${attempts.max} attempts: ${message}; fix the cause, then delete the cluster and create it again`));
  }

  private async importCluster(cluster: Cluster, job: JobRecorder): Promise<void> {
    const name = cluster.metadata.name;
    const { kubeconfig } = await this.records.credentials(name);
    const options = { ...importCheckOptions(cluster, this.config, kubeconfig), skipNameCheck: true };
    const wantsServiceAccount = options.needServiceAccount === true;
    const facts = await runImportChecks(
      options,
      { clusterWithUid: (u, except) => this.records.clusterWithMemberUid(u, except), nameTaken: async () => false },
      (check: ImportCheck, index: number) => job.step(check, checkPercent(index)),
    );
    await job.skip('NameFree', 'the registry already holds this name for this cluster');

    const opened: MemberClient[] = [];
    try {
      await this.finishImport(cluster, job, facts, opened, wantsServiceAccount);
    } finally {
      for (const c of opened) c.close();
    }
  }

  private async finishImport(cluster: Cluster, job: JobRecorder, facts: MemberFacts, opened: MemberClient[], wantsServiceAccount: boolean): Promise<void> {
    const name = cluster.metadata.name;
    const uid = cluster.metadata.uid!;
    let client = new MemberClient(facts.resolved, this.config.IMPORT_CONNECT_TIMEOUT_MS, { policy: memberPolicyOf(this.config) });
    opened.push(client);
    await job.step('DetectProvider', 70);
    const { adapter, detected } = await this.providers.pick({ facts, client }, cluster.spec.provider);
    const description = adapter.describe({ facts, client });
    for (const w of description.warnings) job.warn(w);
    if (detected !== adapter.name) job.warn(`spec.provider "${adapter.name}" overrides the detected provider "${detected}"`);
    for (const w of facts.warnings ?? []) job.warn(w);

    let storedKubeconfig: string | undefined;
    let resolved = facts.resolved;
    const memberRole = memberRoleChoice(cluster.metadata.annotations);
    let created: MemberObject[] = [];
    let owner: OwnerReference | undefined;
    if (wantsServiceAccount) {
      await job.step(
        'RetrieveLastingKubeconfig',
        75,
        `creating ServiceAccount flotilla-system/flotilla-host bound to ClusterRole flotilla:host${memberRole === 'cluster-admin' ? ' and cluster-admin (by choice)' : ''}, and a short-lived token (TokenRequest)`,
      );
      const setup = await createServiceAccountKubeconfig(client, facts.resolved, name, {
        timeoutMs: this.config.IMPORT_CONNECT_TIMEOUT_MS,
        tokenTtlSeconds: this.config.FLOTILLA_MEMBER_TOKEN_TTL_SECONDS,
        memberRole,
        access: memberAccessChoice(cluster.metadata.annotations),
      });
      storedKubeconfig = setup.kubeconfig;
      created = setup.objects;
      owner = setup.owner;
      resolved = parseKubeconfig(storedKubeconfig);
      // The new credential must work and reach the same member; until its token is accepted, retry.
      client = new MemberClient(resolved, this.config.IMPORT_CONNECT_TIMEOUT_MS, { policy: memberPolicyOf(this.config) });
      opened.push(client);
      await expectSameMember(client, facts.kubeSystemUid, name, 'the service-account kubeconfig');
    } else {
      if (adapter.prefersServiceAccount({ facts, client })) {
        job.warn(`${adapter.name} tokens are short-lived: set annotation ${ImportAnnotations.credentials}=${SERVICE_ACCOUNT_CREDENTIALS} to have Flotilla store a lasting service-account kubeconfig instead`);
      }
      if ((cluster.metadata.annotations ?? {})[MEMBER_ROLE_ANNOTATION]) {
        job.warn(`annotation ${MEMBER_ROLE_ANNOTATION} applies only with ${ImportAnnotations.credentials}=${SERVICE_ACCOUNT_CREDENTIALS}: ignored; the kubeconfig's own rights are used`);
      }
    }

    await job.step('WriteMarker', 85, 'ConfigMap flotilla-system/flotilla-host');
    await writeMarker(client, { hostId: this.config.FLOTILLA_HOST_ID, clusterName: name, clusterUid: uid, objects: created, ...(owner ? { owner } : {}) }, this.config.IMPORT_CONNECT_TIMEOUT_MS);

    await job.step('Record', 92);
    if (storedKubeconfig) await this.records.storeKubeconfig(name, uid, storedKubeconfig);
    const updated = await this.records.update(name, uid, (c) => {
      c.metadata.labels = { ...(c.metadata.labels ?? {}), [MEMBER_UID_LABEL]: facts.kubeSystemUid };
      if (!c.spec.provider) c.spec.provider = adapter.name;
      return c;
    });
    if (!updated || updated.metadata.deletionTimestamp) {
      await job.finish('Failed', 'the cluster was deleted during its import');
      return;
    }
    const conditions: ClusterCondition[] = [
      { type: ClusterConditionType.Initialized, status: 'True', reason: 'Imported', message: `imported as a ${adapter.name} cluster` },
      { type: ClusterConditionType.Ready, status: 'True', reason: 'ClusterReady', message: 'the cluster answered every import check' },
      kubeconfigCertCondition(resolved),
      ...(wantsServiceAccount ? [memberRoleCondition(memberRole)] : []),
    ];
    await this.records.setStatus(name, {
      ...(updated.status ?? {}),
      conditions,
      kubernetesVersion: facts.gitVersion,
      nodeCount: facts.nodes.length,
      zones: description.zones,
      ...(description.region ? { region: description.region } : {}),
      uid: facts.kubeSystemUid,
    });
    await job.finish('Succeeded', `imported as a ${adapter.name} cluster (${facts.gitVersion}, ${facts.nodes.length} nodes)`);
  }

  private async fail(cluster: Cluster, job: JobRecorder, error: FlotillaError): Promise<void> {
    const field = error.details.causes?.[0]?.field ?? KUBECONFIG_FIELD;
    const check = IMPORT_CHECKS.find((c) => error.message.includes(`${c}:`));
    const reason = check ? `${check}Failed` : error.reason === 'Invalid' ? 'KubeconfigRefused' : 'ImportFailed';
    await job.finish('Failed', error.message);
    const current = await this.records.find(cluster.metadata.name);
    if (!current || current.metadata.uid !== cluster.metadata.uid) return;
    const initialized = findCondition(current.status?.conditions, ClusterConditionType.Initialized);
    if (initialized?.status === 'True') return; // a retry after success never undoes it
    await this.records.setStatus(cluster.metadata.name, {
      ...(current.status ?? {}),
      conditions: [
        { type: ClusterConditionType.Initialized, status: 'False', reason, message: error.message.startsWith(field) ? error.message : `${field}: ${error.message}` },
        { type: ClusterConditionType.Ready, status: 'False', reason: 'ImportFailed', message: 'the import did not complete; see the Initialized condition' },
      ],
    });
  }
}
