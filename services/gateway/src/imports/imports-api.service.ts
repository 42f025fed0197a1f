import { Inject, Injectable } from '@nestjs/common';
import { Observable } from 'rxjs';
import { stringify } from 'yaml';
import {
  CLUSTER_API_GROUP,
  CLUSTER_API_VERSION,
  Cluster,
  ErrorReason,
  FlotillaError,
  IMPORT_JOB_LIST_KIND,
  ImportJob,
  MEMBER_UID_LABEL,
  decodeKubeconfig,
  validateClusterInput,
} from '@flotilla/domain';
import { ImportLookups, KUBECONFIG_FIELD, kubeconfigCertCondition, runImportChecks } from '@flotilla/kube';
import { clusterFromProto, clusterToProto, statusToProto } from '@flotilla/contracts';
import { CONFIG, IMPORT_JOBS_CLIENT, ImportJobsClient, REGISTRY_CLIENT, RegistryClient } from '@flotilla/service-kit';
import type { ImportEdgeConfig } from './import-config';
import { KubeconfigGuard, importOptions } from './kubeconfig-guard';

export interface ValidationResult {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success';
  code: 200;
  message: string;
  details: { name: string; group: string; kind: string; uid: string; kubernetesVersion: string; nodeCount: number };
}

export interface ImportJobList {
  apiVersion: typeof CLUSTER_API_VERSION;
  kind: typeof IMPORT_JOB_LIST_KIND;
  metadata: { resourceVersion: string };
  items: ImportJob[];
}

export interface JobEvent {
  type: 'ADDED' | 'MODIFIED';
  object: ImportJob;
}

const isNotFound = (e: unknown) => e instanceof FlotillaError && e.reason === ErrorReason.NotFound;

/** The import edge: dry-run validation, job records, credential rotation and the member kubeconfig. */
@Injectable()
export class ImportsApiService {
  constructor(
    @Inject(REGISTRY_CLIENT) private readonly registry: RegistryClient,
    @Inject(IMPORT_JOBS_CLIENT) private readonly jobs: ImportJobsClient,
    @Inject(CONFIG) private readonly config: ImportEdgeConfig,
    private readonly guard: KubeconfigGuard,
  ) {}

  private lookups(): ImportLookups {
    return {
      clusterWithUid: async (uid, except) => {
        const list = await this.registry.listClusters({ labelSelector: `${MEMBER_UID_LABEL}=${uid}` });
        return (list.items ?? []).map((c) => c.metadata?.name ?? '').find((n) => n !== except);
      },
      nameTaken: async (name) => {
        try {
          await this.registry.getCluster({ name });
          return true;
        } catch (error) {
          if (isNotFound(error)) return false;
          throw error;
        }
      },
    };
  }

  /** Runs every import check against the member; writes nothing. */
  async validate(body: unknown): Promise<ValidationResult> {
    const { cluster } = validateClusterInput(body, 'create');
    await this.guard.check(cluster);
    const facts = await runImportChecks(importOptions(cluster, this.config, cluster.spec.connection.kubeconfig ?? ''), this.lookups());
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      code: 200,
      message: `all import checks passed: ${facts.resolved.server} runs ${facts.gitVersion} with ${facts.nodes.length} nodes`,
      details: { name: cluster.metadata.name, group: CLUSTER_API_GROUP, kind: 'clusters', uid: facts.kubeSystemUid, kubernetesVersion: facts.gitVersion, nodeCount: facts.nodes.length },
    };
  }

  async listJobs(name: string): Promise<ImportJobList> {
    const items = await this.jobs.list(name);
    return { apiVersion: CLUSTER_API_VERSION, kind: IMPORT_JOB_LIST_KIND, metadata: { resourceVersion: items.map((j) => j.metadata.resourceVersion ?? '').join('.') }, items };
  }

  /**
   * Follows a cluster's jobs: the current ones as ADDED, then each change (by resourceVersion,
   * compared for equality only) as ADDED or MODIFIED, until timeoutSeconds.
   */
  watchJobs(name: string, timeoutSeconds: number | undefined, pollMs = 250): Observable<JobEvent> {
    return new Observable<JobEvent>((subscriber) => {
      const seen = new Map<string, string>();
      let stopped = false;
      const until = timeoutSeconds ? Date.now() + timeoutSeconds * 1000 : Infinity;
      const tick = async () => {
        while (!stopped) {
          try {
            for (const job of (await this.jobs.list(name)).reverse()) {
              const rv = job.metadata.resourceVersion ?? '';
              const before = seen.get(job.metadata.name);
              if (before === rv) continue;
              seen.set(job.metadata.name, rv);
              subscriber.next({ type: before === undefined ? 'ADDED' : 'MODIFIED', object: job });
            }
          } catch (error) {
            subscriber.error(error);
            return;
          }
          if (Date.now() >= until) {
            subscriber.complete();
            return;
          }
          await new Promise((r) => setTimeout(r, pollMs));
        }
      };
      void tick();
      return () => {
        stopped = true;
      };
    });
  }

  /**
   * PUT .../clusters/{name}/kubeconfig: replaces the credentials once the new ones pass the
   * checks and reach the same member (same kube-system UID).
   */
  async rotate(name: string, body: unknown): Promise<Cluster> {
    const kubeconfig = this.kubeconfigFromBody(body);
    const cluster = clusterFromProto(await this.registry.getCluster({ name }));
    const expectedUid = cluster.status?.uid;
    if (!expectedUid) {
      throw new FlotillaError(ErrorReason.Conflict, `Operation cannot be fulfilled on clusters.${CLUSTER_API_GROUP} "${name}": it is not imported yet (no status.uid); wait for the import, or delete and create it again`, {
        name,
        group: CLUSTER_API_GROUP,
        kind: 'clusters',
      });
    }
    const candidate: Cluster = { ...cluster, spec: { ...cluster.spec, connection: { ...cluster.spec.connection, kubeconfig } } };
    await this.guard.check(candidate);
    const facts = await runImportChecks({ ...importOptions(candidate, this.config, kubeconfig), skipNameCheck: true }, { clusterWithUid: async () => undefined, nameTaken: async () => false });
    if (facts.kubeSystemUid !== expectedUid) {
      throw new FlotillaError(ErrorReason.Invalid, `${KUBECONFIG_FIELD}: the new kubeconfig reaches a different cluster (kube-system UID ${facts.kubeSystemUid}, expected ${expectedUid}): give credentials for the cluster "${name}" itself`, {
        name,
        group: CLUSTER_API_GROUP,
        kind: 'Cluster',
        causes: [{ reason: 'FieldValueInvalid', field: KUBECONFIG_FIELD, message: `reaches kube-system UID ${facts.kubeSystemUid}, not ${expectedUid}` }],
      });
    }
    const updated = clusterFromProto(await this.registry.updateCluster({ cluster: clusterToProto({ ...candidate, metadata: { ...candidate.metadata } }, true) }));
    const status = await this.registry.updateClusterStatus({ name, status: statusToProto({ ...(updated.status ?? {}), conditions: [kubeconfigCertCondition(facts.resolved)] }) });
    return clusterFromProto(status);
  }

  private kubeconfigFromBody(body: unknown): string {
    const value = typeof body === 'object' && body !== null ? (body as { kubeconfig?: unknown }).kubeconfig : undefined;
    if (typeof value !== 'string' || value === '') {
      throw new FlotillaError(ErrorReason.Invalid, 'kubeconfig: Required value: send {"kubeconfig": "<kubeconfig YAML or base64>"}', {
        causes: [{ reason: 'FieldValueRequired', field: 'kubeconfig', message: 'Required value: the new kubeconfig (YAML text or base64)' }],
      });
    }
    return decodeKubeconfig(value);
  }

  /**
   * A kubeconfig that reaches the member through Flotilla (the proxy comes later): the server is
   * this gateway's proxy path for the cluster, the user authenticates with their Flotilla token.
   * It never holds the member's own credentials.
   */
  async memberKubeconfig(name: string, requestBase: string): Promise<string> {
    const cluster = clusterFromProto(await this.registry.getCluster({ name }));
    const base = (this.config.FLOTILLA_EXTERNAL_URL ?? requestBase).replace(/\/+$/, '');
    const server = `${base}/apis/${CLUSTER_API_GROUP}/v1alpha1/clusters/${cluster.metadata.name}/proxy`;
    return stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: `flotilla-${name}`, cluster: { server } }],
      users: [{ name: 'flotilla-user', user: { token: '<your Flotilla token>' } }],
      contexts: [{ name: `flotilla-${name}`, context: { cluster: `flotilla-${name}`, user: 'flotilla-user' } }],
      'current-context': `flotilla-${name}`,
    });
  }
}
