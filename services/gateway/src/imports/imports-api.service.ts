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
  decodeKubeconfig,
  validateClusterInput,
} from '@flotilla/domain';
import { IMPORT_CLIENT, IMPORT_JOBS_CLIENT, ImportClient, ImportJobsClient, REGISTRY_CLIENT, RegistryClient } from '@flotilla/clients';
import { CONFIG } from '@flotilla/service-kit';
import type { ImportEdgeConfig } from './import-config';
import { KubeconfigGuard } from './kubeconfig-guard';

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

/**
 * The import edge: dry-run validation, job records, credential rotation and the member
 * kubeconfig. It parses offline and forwards: the checks that reach a member or depend on the
 * import policy run in provider-import (ADR 0027); this process never connects to a member.
 */
@Injectable()
export class ImportsApiService {
  constructor(
    @Inject(REGISTRY_CLIENT) private readonly registry: RegistryClient,
    @Inject(IMPORT_JOBS_CLIENT) private readonly jobs: ImportJobsClient,
    @Inject(IMPORT_CLIENT) private readonly imports: ImportClient,
    @Inject(CONFIG) private readonly config: ImportEdgeConfig,
    private readonly guard: KubeconfigGuard,
  ) {}

  /** Every import check against the member, run by provider-import; writes nothing. */
  async validate(body: unknown): Promise<ValidationResult> {
    const { cluster } = validateClusterInput(body, 'create');
    this.guard.offline(cluster, cluster.spec.connection.kubeconfig ?? '');
    const v = await this.imports.validateCluster(cluster);
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      code: 200,
      message: `all import checks passed: ${v.server} runs ${v.kubernetesVersion} with ${v.nodeCount} nodes`,
      details: { name: cluster.metadata.name, group: CLUSTER_API_GROUP, kind: 'clusters', uid: v.kubeSystemUid, kubernetesVersion: v.kubernetesVersion, nodeCount: v.nodeCount },
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
   * PUT .../clusters/{name}/kubeconfig: provider-import replaces the credentials once the new
   * ones pass the checks and reach the same member (same kube-system UID); the answer is the
   * cluster as stored after it.
   */
  async rotate(name: string, body: unknown): Promise<Cluster> {
    const kubeconfig = this.kubeconfigFromBody(body);
    const cluster = await this.registry.getCluster(name);
    this.guard.offline(cluster, kubeconfig);
    await this.imports.rotateCredentials(name, kubeconfig);
    return this.registry.getCluster(name);
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
    const cluster = await this.registry.getCluster(name);
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
