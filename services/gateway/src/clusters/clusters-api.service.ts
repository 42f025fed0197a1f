import { Inject, Injectable } from '@nestjs/common';
import { Observable, map } from 'rxjs';
import {
  CLUSTER_API_GROUP,
  CLUSTER_API_VERSION,
  CLUSTER_KIND,
  Cluster,
  ErrorReason,
  FlotillaError,
  PatchType,
  patchTypeFromContentType,
  scrubCredentialsFromMetadata,
  scrubCredentialsFromPatch,
  validateClusterInput,
} from '@flotilla/domain';
import { parseJsonBounded } from '@flotilla/parsing';
import { ClusterList, REGISTRY_CLIENT, RegistryClient } from '@flotilla/clients';
import { CONFIG } from '@flotilla/service-kit';
import { KubeconfigGuard } from '../imports/kubeconfig-guard';
import { StreamLimiter, streamLimiterFor } from './stream-limiter';

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: string;
  continue?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: string;
  timeoutSeconds?: string;
}

export interface WriteQuery {
  dryRun?: string | string[];
  fieldValidation?: string;
  /** DELETE only: finish the host-side removal at once when the member does not answer. */
  force?: string;
}

export interface Written<T> {
  body: T;
  /** Warning headers to send (Kubernetes "299 - ..." form). */
  warnings: string[];
}

export interface DeleteStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success';
  details: { name: string; group: string; kind: string; uid?: string };
}

/** Pages the gateway reads when it lists everything: the registry's largest (fewest round trips). */
const LIST_ALL_PAGE = 1000;

function badQuery(field: string, message: string): FlotillaError {
  return new FlotillaError(ErrorReason.BadRequest, `${field}: ${message}`, { causes: [{ reason: 'FieldValueInvalid', field, message }] });
}

function parseDryRun(value: string | string[] | undefined): boolean {
  if (value === undefined) return false;
  const values = Array.isArray(value) ? value : [value];
  for (const v of values) {
    if (v !== 'All') {
      throw new FlotillaError(ErrorReason.BadRequest, `dryRun: Unsupported value: "${v}": supported values: "All"`, {
        causes: [{ reason: 'FieldValueNotSupported', field: 'dryRun', message: 'supported values: "All"' }],
      });
    }
  }
  return values.length > 0;
}

/** Unknown fields are dropped with a warning (Warn, the default), refused (Strict), or dropped silently (Ignore). */
function unknownFieldWarnings(unknown: string[], fieldValidation: string | undefined): string[] {
  const mode = fieldValidation ?? 'Warn';
  if (!['Warn', 'Strict', 'Ignore'].includes(mode)) {
    throw badQuery('fieldValidation', `Unsupported value: "${mode}": supported values: "Ignore", "Warn", "Strict"`);
  }
  if (unknown.length === 0 || mode === 'Ignore') return [];
  if (mode === 'Strict') {
    throw new FlotillaError(ErrorReason.BadRequest, `strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`, {
      causes: unknown.map((f) => ({ reason: 'FieldValueInvalid', field: f, message: 'unknown field' })),
    });
  }
  return unknown.map((f) => `unknown field "${f}"`);
}

/**
 * Labels and annotations never hold a credential (issue 12): credential fields are stripped from
 * JSON and YAML annotation values (kubectl's last-applied-configuration) with a warning each, and a
 * value that is a credential is refused. The registry applies the same rule again before storing.
 */
function withoutCredentialsInMetadata(cluster: Cluster): { cluster: Cluster; warnings: string[] } {
  const { annotations, warnings } = scrubCredentialsFromMetadata(cluster.metadata.name, cluster.metadata.labels, cluster.metadata.annotations);
  if (warnings.length === 0) return { cluster, warnings };
  return { cluster: { ...cluster, metadata: { ...cluster.metadata, annotations } }, warnings };
}

/** The REST surface's logic: maps Kubernetes-style requests to the registry's gRPC API. */
@Injectable()
export class ClustersApiService {
  /** Per-user stream limits, idle end and unsent-bytes bound, shared with the job streams. */
  readonly streams: StreamLimiter;

  constructor(
    @Inject(REGISTRY_CLIENT) private readonly registry: RegistryClient,
    private readonly kubeconfigs: KubeconfigGuard,
    @Inject(CONFIG) config: object,
  ) {
    this.streams = streamLimiterFor(config);
  }

  async get(name: string): Promise<Cluster> {
    return this.registry.getCluster(name);
  }

  private limit(value: string | undefined): number | undefined {
    if (value === undefined || value === '') return undefined;
    if (!/^\d+$/.test(value)) throw badQuery('limit', `Invalid value: "${value}": must be a non-negative whole number`);
    return Number(value);
  }

  /** With a limit, one page (the registry serves at most 1000; follow metadata.continue). */
  async list(q: ListQuery): Promise<ClusterList> {
    return this.registry.listClusters({ labelSelector: q.labelSelector, fieldSelector: q.fieldSelector, limit: this.limit(q.limit), continue: q.continue });
  }

  /** True when the query asks for one page (a limit); without one, Kubernetes lists everything. */
  pagedQuery(q: ListQuery): boolean {
    const limit = this.limit(q.limit);
    return limit !== undefined && limit > 0;
  }

  /** Everything (no limit), as pages of the registry's gRPC list: the REST edge streams them out. */
  listAll(q: ListQuery): AsyncGenerator<ClusterList> {
    return this.registry.listAllClusters({ labelSelector: q.labelSelector, fieldSelector: q.fieldSelector, limit: LIST_ALL_PAGE, continue: q.continue || undefined });
  }

  /** The watch's timeoutSeconds, validated (undefined: the stream stays open until the client leaves). */
  watchTimeout(q: ListQuery): number | undefined {
    if (q.timeoutSeconds === undefined || q.timeoutSeconds === '') return undefined;
    if (!/^\d{1,6}$/.test(q.timeoutSeconds)) throw badQuery('timeoutSeconds', `Invalid value: "${q.timeoutSeconds}": must be a whole number of seconds`);
    return Number(q.timeoutSeconds);
  }

  /** `caller`: the user watching; the registry counts its own per-caller limit per user. */
  watch(q: ListQuery, caller?: string): Observable<{ type: string; object: Cluster }> {
    return this.registry
      .watchClusters({
        resourceVersion: q.resourceVersion,
        labelSelector: q.labelSelector,
        fieldSelector: q.fieldSelector,
        allowBookmarks: q.allowWatchBookmarks === 'true',
        ...(caller ? { onBehalfOf: caller } : {}),
      })
      .pipe(
        map((e) => {
          // A bookmark carries only the resourceVersion, as in Kubernetes.
          if (e.type === 'BOOKMARK') return { type: e.type, object: { apiVersion: CLUSTER_API_VERSION, kind: CLUSTER_KIND, metadata: e.resourceVersion ? { resourceVersion: e.resourceVersion } : {} } as unknown as Cluster };
          return e;
        }),
      );
  }

  async create(body: unknown, q: WriteQuery): Promise<Written<Cluster>> {
    const dryRun = parseDryRun(q.dryRun);
    const validated = validateClusterInput(body, 'create');
    const { cluster, warnings: stripped } = withoutCredentialsInMetadata(validated.cluster);
    const warnings = [...unknownFieldWarnings(validated.unknownFields, q.fieldValidation), ...stripped];
    await this.kubeconfigs.check(cluster);
    return { body: await this.registry.createCluster(cluster, { dryRun }), warnings };
  }

  async replace(name: string, body: unknown, q: WriteQuery): Promise<Written<Cluster>> {
    const dryRun = parseDryRun(q.dryRun);
    const validated = validateClusterInput(body, 'update');
    const { cluster, warnings: stripped } = withoutCredentialsInMetadata(validated.cluster);
    if (cluster.metadata.name !== name) {
      throw new FlotillaError(ErrorReason.BadRequest, `the name of the object (${cluster.metadata.name}) does not match the name on the URL (${name})`, {
        causes: [{ reason: 'FieldValueInvalid', field: 'metadata.name', message: `must be "${name}", the name on the URL` }],
      });
    }
    const warnings = [...unknownFieldWarnings(validated.unknownFields, q.fieldValidation), ...stripped];
    await this.kubeconfigs.check(cluster);
    return { body: await this.registry.updateCluster(cluster, { dryRun }), warnings };
  }

  /**
   * PATCH: credentials in the labels and annotations it writes are handled as for create (warnings);
   * a patch that changes a credential is refused by the registry, which compares it with the stored one.
   */
  async patch(name: string, contentType: string | undefined, patch: string, q: WriteQuery): Promise<Written<Cluster>> {
    const dryRun = parseDryRun(q.dryRun);
    const patchType = patchTypeFromContentType(contentType, [PatchType.Merge, PatchType.Json]);
    let parsed: unknown;
    try {
      parsed = parseJsonBounded(patch, 'the patch');
    } catch {
      // The registry answers an unparseable patch with the Status that names the problem.
      return { body: await this.registry.patchCluster(name, patchType, patch, { dryRun }), warnings: [] };
    }
    const scrubbed = scrubCredentialsFromPatch(name, patchType === PatchType.Merge ? 'merge' : 'json', parsed);
    const text = scrubbed.warnings.length > 0 ? JSON.stringify(scrubbed.patch) : patch;
    return { body: await this.registry.patchCluster(name, patchType, text, { dryRun }), warnings: scrubbed.warnings };
  }

  async delete(name: string, q: WriteQuery, preconditions: { uid?: string; resourceVersion?: string }): Promise<Cluster | DeleteStatus> {
    const dryRun = parseDryRun(q.dryRun);
    const outcome = await this.registry.deleteCluster(name, { preconditions, dryRun });
    let cluster = outcome.cluster;
    if (!outcome.deleted && !dryRun && q.force === 'true') cluster = await this.kubeconfigs.forceRemoval(name);
    if (!outcome.deleted) return cluster;
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, group: CLUSTER_API_GROUP, kind: 'clusters', ...(cluster.metadata.uid ? { uid: cluster.metadata.uid } : {}) },
    };
  }
}
