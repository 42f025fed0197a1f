import { Inject, Injectable } from '@nestjs/common';
import {
  Cluster,
  ClusterConditionType,
  ClusterCondition,
  ConnectionType,
  ErrorReason,
  FlotillaError,
  ImportAnnotations,
  SERVICE_ACCOUNT_CREDENTIALS,
  findCondition,
} from '@flotilla/domain';
import {
  IMPORT_CHECKS,
  ImportCheck,
  MemberClient,
  MemberFacts,
  kubeconfigCertCondition,
  createServiceAccountKubeconfig,
  parseKubeconfig,
  runImportChecks,
  writeMarker,
} from '@flotilla/kube';
import { JOBS, JobName } from '@flotilla/queue';
import type { ClusterImportPayload, JobContext } from '@flotilla/queue';
import { CONFIG, IMPORT_JOBS_CLIENT, ImportJobsClient, RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import type { ProviderImportConfig } from '../config';
import { JobRecorder } from '../jobs/job-recorder';
import { ProviderRegistry } from '../providers/provider-registry';
import { ClusterRecords, MEMBER_UID_LABEL } from './cluster-records';

const FIELD = 'spec.connection.kubeconfig';

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

  async run(payload: ClusterImportPayload, context?: JobContext): Promise<void> {
    const cluster = await this.records.find(payload.name);
    if (!cluster || cluster.metadata.uid !== payload.uid || cluster.metadata.deletionTimestamp) return; // gone, replaced, or being removed
    if (cluster.spec.connection.type !== ConnectionType.Direct) return; // agent (proxy) connections import themselves
    const job = new JobRecorder(this.jobs, context, 'import', payload.name, payload.uid, (e) =>
      this.runtime.logger.warn({ cluster: payload.name, err: e instanceof Error ? e.message : String(e) }, 'reporting import progress failed'),
    );
    try {
      await this.importCluster(cluster, job);
    } catch (error) {
      if (error instanceof FlotillaError) return this.fail(cluster, job, error);
      // Transient (registry or member hiccup): BullMQ retries; the last attempt records the failure.
      const attempts = JOBS[JobName.ClusterImport].attempts;
      if ((context?.attempt ?? attempts) < attempts) throw error;
      const message = error instanceof Error ? error.message : String(error);
      await this.fail(cluster, job, new FlotillaError(ErrorReason.ServiceUnavailable, `${FIELD}: the import gave up after ${attempts} attempts: ${message}; fix the cause, then delete the cluster and create it again`));
    }
  }

  private async importCluster(cluster: Cluster, job: JobRecorder): Promise<void> {
    const name = cluster.metadata.name;
    const annotations = cluster.metadata.annotations ?? {};
    const { kubeconfig } = await this.records.credentials(name);
    const wantsServiceAccount = annotations[ImportAnnotations.credentials] === SERVICE_ACCOUNT_CREDENTIALS;
    const options = {
      name,
      kubeconfig,
      context: annotations[ImportAnnotations.context] || undefined,
      allowInsecureSkipTlsVerify: annotations[ImportAnnotations.allowInsecureSkipTlsVerify] === 'true',
      allowProxyUrl: this.config.FLOTILLA_ALLOW_PROXY_URL,
      serverAllowList: this.config.FLOTILLA_SERVER_ALLOW_LIST,
      connectTimeoutMs: this.config.IMPORT_CONNECT_TIMEOUT_MS,
      hostId: this.config.FLOTILLA_HOST_ID,
      needServiceAccount: wantsServiceAccount,
      skipNameCheck: true,
    };
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
    let client = new MemberClient(facts.resolved, this.config.IMPORT_CONNECT_TIMEOUT_MS, this.config.FLOTILLA_SERVER_ALLOW_LIST);
    opened.push(client);
    await job.step('DetectProvider', 70);
    const { adapter, detected } = await this.providers.pick({ facts, client }, cluster.spec.provider);
    const description = adapter.describe({ facts, client });
    for (const w of description.warnings) job.warn(w);
    if (detected !== adapter.name) job.warn(`spec.provider "${adapter.name}" overrides the detected provider "${detected}"`);

    let storedKubeconfig: string | undefined;
    let resolved = facts.resolved;
    if (wantsServiceAccount) {
      await job.step('RetrieveLastingKubeconfig', 75, 'creating ServiceAccount flotilla-system/flotilla-host, its ClusterRoleBinding and a token Secret');
      storedKubeconfig = await createServiceAccountKubeconfig(client, facts.resolved, name, this.config.IMPORT_CONNECT_TIMEOUT_MS);
      resolved = parseKubeconfig(storedKubeconfig);
      client = await this.verifySameMember(resolved, facts);
      opened.push(client);
    } else if (adapter.prefersServiceAccount({ facts, client })) {
      job.warn(`${adapter.name} tokens are short-lived: set annotation ${ImportAnnotations.credentials}=${SERVICE_ACCOUNT_CREDENTIALS} to have Flotilla store a lasting service-account kubeconfig instead`);
    }

    await job.step('WriteMarker', 85, 'ConfigMap flotilla-system/flotilla-host');
    await writeMarker(client, { hostId: this.config.FLOTILLA_HOST_ID, clusterName: name, clusterUid: uid }, this.config.IMPORT_CONNECT_TIMEOUT_MS);

    await job.step('Record', 92);
    const updated = await this.records.update(name, uid, (c) => {
      c.metadata.labels = { ...(c.metadata.labels ?? {}), [MEMBER_UID_LABEL]: facts.kubeSystemUid };
      if (!c.spec.provider) c.spec.provider = adapter.name;
      if (storedKubeconfig) c.spec.connection = { ...c.spec.connection, kubeconfig: storedKubeconfig };
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

  /** The new credential must work and reach the same member (same kube-system UID). */
  private async verifySameMember(resolved: MemberFacts['resolved'], facts: MemberFacts): Promise<MemberClient> {
    const client = new MemberClient(resolved, this.config.IMPORT_CONNECT_TIMEOUT_MS, this.config.FLOTILLA_SERVER_ALLOW_LIST);
    const ns = await client.request('GET', '/api/v1/namespaces/kube-system');
    const uid = (ns.body as { metadata?: { uid?: string } }).metadata?.uid;
    if (ns.status !== 200 || uid !== facts.kubeSystemUid) {
      client.close();
      throw new Error(`the service-account kubeconfig does not work yet (${ns.status}); retrying`);
    }
    return client;
  }

  private async fail(cluster: Cluster, job: JobRecorder, error: FlotillaError): Promise<void> {
    const field = error.details.causes?.[0]?.field ?? 'spec.connection.kubeconfig';
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
