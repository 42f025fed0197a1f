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
  dns1123LabelErrors,
  validateClusterInput,
} from '@flotilla/domain';
import { IMPORT_CLIENT, IMPORT_JOBS_CLIENT, ImportClient, ImportJobsClient, REGISTRY_CLIENT, RegistryClient } from '@flotilla/clients';
import { CONFIG } from '@flotilla/service-kit';
import { FLOTILLA_CONTEXT, memberContextName, proxyServer } from '../kubeconfigs/kubeconfig-document';
import { GATEWAY_CA, type GatewayCa } from '../kubeconfigs/kubeconfigs.service';
import { StreamLimiter, streamLimiterFor } from '../clusters/stream-limiter';
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

/** The user entry of the kubeconfig template (no secret in it). */
const TEMPLATE_USER = 'flotilla-user';

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
  /** The same per-user limiter as the cluster watches (one per gateway configuration). */
  get streams(): StreamLimiter {
    return streamLimiterFor(this.config);
  }

  constructor(
    @Inject(REGISTRY_CLIENT) private readonly registry: RegistryClient,
    @Inject(IMPORT_JOBS_CLIENT) private readonly jobs: ImportJobsClient,
    @Inject(IMPORT_CLIENT) private readonly imports: ImportClient,
    @Inject(CONFIG) private readonly config: ImportEdgeConfig,
    private readonly guard: KubeconfigGuard,
    @Inject(GATEWAY_CA) private readonly ca: GatewayCa,
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
   * compared for equality only) as ADDED or MODIFIED, until timeoutSeconds. Driven by the
   * registry's job-change signals (issue 13): the jobs are read once when the registry follows
   * and once per change, never on a timer. Reads never overlap; signals during one coalesce into
   * one more read. `caller` is the user the registry counts the stream against.
   */
  watchJobs(name: string, timeoutSeconds: number | undefined, caller?: string): Observable<JobEvent> {
    if (dns1123LabelErrors(name).length > 0) {
      throw new FlotillaError(ErrorReason.BadRequest, `"${name}" is not a cluster name (a DNS-1123 label)`, {
        causes: [{ reason: 'FieldValueInvalid', field: 'metadata.name', message: 'must be a DNS-1123 label' }],
      });
    }
    return new Observable<JobEvent>((subscriber) => {
      const seen = new Map<string, string>();
      let reading = false;
      let again = false;
      const read = async () => {
        if (reading) {
          again = true;
          return;
        }
        reading = true;
        try {
          do {
            again = false;
            for (const job of (await this.jobs.list(name)).reverse()) {
              if (subscriber.closed) return;
              const rv = job.metadata.resourceVersion ?? '';
              const before = seen.get(job.metadata.name);
              if (before === rv) continue;
              seen.set(job.metadata.name, rv);
              subscriber.next({ type: before === undefined ? 'ADDED' : 'MODIFIED', object: job });
            }
          } while (again && !subscriber.closed);
        } catch (error) {
          subscriber.error(error);
        } finally {
          reading = false;
        }
      };
      const signals = this.registry.watchImportJobChanges(name, caller ? { onBehalfOf: caller } : {}).subscribe({
        next: () => void read(),
        error: (error: unknown) => subscriber.error(error),
        // The registry ended the follow (idle, drain): so does this stream; the client watches again.
        complete: () => subscriber.complete(),
      });
      const timer = timeoutSeconds ? setTimeout(() => subscriber.complete(), timeoutSeconds * 1000) : undefined;
      return () => {
        clearTimeout(timer);
        signals.unsubscribe();
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
   * A template without a secret: the contexts POST .../kubeconfig mints (the member through the
   * proxy, named `<name>`, and `flotilla` for Flotilla's own API), whose user runs `flotilla token`
   * (the CLI's stored login: a token, or OIDC refreshed as needed); POST mints one with a token. It
   * never holds the member's own credentials, nor any Flotilla secret.
   */
  async memberKubeconfig(name: string, requestBase: string): Promise<string> {
    const cluster = await this.registry.getCluster(name);
    const base = (this.config.FLOTILLA_EXTERNAL_URL ?? requestBase).replace(/\/+$/, '');
    const member = memberContextName(cluster.metadata.name);
    const entries = [
      { name: member, server: proxyServer(base, cluster.metadata.name) },
      { name: FLOTILLA_CONTEXT, server: base },
    ];
    return stringify({
      apiVersion: 'v1',
      kind: 'Config',
      preferences: {},
      // The gateway's CA when it serves TLS with its own (else the system roots verify it).
      clusters: entries.map((e) => ({ name: e.name, cluster: { server: e.server, ...(this.ca.pem ? { 'certificate-authority-data': Buffer.from(this.ca.pem).toString('base64') } : {}) } })),
      // No secret: kubectl asks the flotilla CLI (`flotilla login` first, with a token or OIDC), which
      // prints an ExecCredential and refreshes an OIDC token when needed.
      users: [{ name: TEMPLATE_USER, user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'flotilla', args: ['token'], interactiveMode: 'Never' } } }],
      contexts: entries.map((e) => ({ name: e.name, context: { cluster: e.name, user: TEMPLATE_USER } })),
      'current-context': member,
    });
  }
}
