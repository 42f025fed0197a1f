import { Inject, Injectable } from '@nestjs/common';
import { Observable, map } from 'rxjs';
import {
  CLUSTER_API_GROUP,
  CLUSTER_API_VERSION,
  CLUSTER_KIND,
  Cluster,
  ClusterErrors,
  ErrorReason,
  FlotillaError,
  PatchType,
  patchTypeFromContentType,
  scrubCredentialsFromMetadata,
  scrubCredentialsFromPatch,
  validateClusterInput,
} from '@flotilla/domain';
import type { JsonObject } from '@flotilla/apply';
import { parseJsonBounded } from '@flotilla/parsing';
import { ClusterList, REGISTRY_CLIENT, RegistryClient } from '@flotilla/clients';
import { CONFIG } from '@flotilla/service-kit';
import { KubeconfigGuard } from '../imports/kubeconfig-guard';
import { StreamLimiter, streamLimiterFor } from './stream-limiter';
import { ApplyOptions, applyConfigFor, applyToLive, managedFieldsOnCreate, unchanged } from '../resources/server-side-apply';
import { Json, isObject } from '../resources/validation';
import { CLUSTER_APPLY_KIND, Writer, managedFieldsAfterPatch, managedFieldsAfterReplace, managerOf, metaOf, splitWriteOnly, withCredentials } from './cluster-managed-fields';

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
/** Attempts of a read-compute-write whose client set no resourceVersion (another writer may win in between). */
const WRITE_ATTEMPTS = 5;

const isReason = (error: unknown, reason: ErrorReason) => error instanceof FlotillaError && error.reason === reason;

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

  /**
   * PUT. On a cluster with managedFields, the writer (?fieldManager, or the User-Agent's program)
   * gains the fields it changed and the others lose them, as kube-apiserver records an Update; the
   * write then carries the resourceVersion it was computed against (retried when another writer won).
   */
  async replace(name: string, body: unknown, q: WriteQuery, writer: Writer = {}): Promise<Written<Cluster>> {
    // The body is checked before the cluster is read: a bad body is answered as before (400, 422).
    this.validated(name, body, q);
    const sent = isObject(body) ? metaOf(body) : {};
    const manager = managerOf(writer);
    const clientVersion = typeof sent.resourceVersion === 'string' && sent.resourceVersion !== '' ? sent.resourceVersion : undefined;
    for (let attempt = 1; ; attempt++) {
      const live = await this.registry.getCluster(name);
      const recorded = managedFieldsAfterReplace(live, body, manager);
      if (recorded === undefined) {
        // managedFields: [] keeps the stored ones, as in Kubernetes.
        const { managedFields: _keep, ...meta } = sent;
        return this.write(name, isObject(body) && Array.isArray(sent.managedFields) ? { ...body, metadata: meta } : body, q);
      }
      const object = { ...(body as Json), metadata: { ...sent, managedFields: recorded, resourceVersion: clientVersion ?? live.metadata.resourceVersion } };
      try {
        return await this.write(name, object, q);
      } catch (error) {
        if (!isReason(error, ErrorReason.Conflict) || clientVersion !== undefined || attempt >= WRITE_ATTEMPTS) throw error;
      }
    }
  }

  /** A PUT body checked: the Cluster to write (credentials in metadata stripped) and the warnings to send. */
  private validated(name: string, body: unknown, q: WriteQuery): Written<Cluster> {
    const validated = validateClusterInput(body, 'update');
    const { cluster, warnings: stripped } = withoutCredentialsInMetadata(validated.cluster);
    if (cluster.metadata.name !== name) {
      throw new FlotillaError(ErrorReason.BadRequest, `the name of the object (${cluster.metadata.name}) does not match the name on the URL (${name})`, {
        causes: [{ reason: 'FieldValueInvalid', field: 'metadata.name', message: `must be "${name}", the name on the URL` }],
      });
    }
    return { body: cluster, warnings: [...unknownFieldWarnings(validated.unknownFields, q.fieldValidation), ...stripped] };
  }

  /** PUT as sent (managedFields as given: absent keeps the stored ones). */
  private async write(name: string, body: unknown, q: WriteQuery): Promise<Written<Cluster>> {
    const dryRun = parseDryRun(q.dryRun);
    const { body: cluster, warnings } = this.validated(name, body, q);
    await this.kubeconfigs.check(cluster);
    return { body: await this.registry.updateCluster(cluster, { dryRun }), warnings };
  }

  /**
   * Server-side apply (PATCH with Content-Type application/apply-patch+yaml), with the
   * implementation the generic layer and the Kubernetes emulator share (@flotilla/apply): an absent
   * cluster is created (an import queued, as POST); a present one gets the configuration merged in,
   * ownership recorded in managedFields, and a field another manager owns answered 409 Conflict
   * unless forced. Status is never applied; credentials are never merged or owned: they go to the
   * registry as in PUT (resent unchanged is fine, changed is refused by its credential door). The
   * write carries the resourceVersion it was computed against and is retried when another writer won.
   */
  async apply(name: string, body: unknown, q: WriteQuery, options: ApplyOptions): Promise<Written<Cluster> & { created: boolean }> {
    const dryRun = parseDryRun(q.dryRun);
    const { config: whole, resourceVersion } = applyConfigFor(CLUSTER_APPLY_KIND, name, '', body);
    if (metaOf(whole).managedFields !== undefined) {
      throw new FlotillaError(ErrorReason.BadRequest, 'metadata.managedFields must be nil: an apply configuration holds the fields its manager sets; the server records who owns them', {
        causes: [{ reason: 'FieldValueForbidden', field: 'metadata.managedFields', message: 'must be nil in an apply configuration' }],
      });
    }
    const { object: config, credentials } = splitWriteOnly(whole);
    for (let attempt = 1; ; attempt++) {
      const live = await this.find(name);
      if (!live) {
        if (resourceVersion !== undefined) throw ClusterErrors.notFound(name);
        const managedFields = managedFieldsOnCreate(CLUSTER_APPLY_KIND, config as JsonObject, options);
        try {
          const written = await this.create(withCredentials({ ...config, metadata: { ...metaOf(config), managedFields } }, credentials), q);
          return { ...written, created: true };
        } catch (error) {
          // Created in between by another writer: the next round applies to it.
          if (!isReason(error, ErrorReason.AlreadyExists) || dryRun || attempt >= WRITE_ATTEMPTS) throw error;
          continue;
        }
      }
      const { object: shown } = splitWriteOnly(live as unknown as Json);
      const applied = applyToLive(CLUSTER_APPLY_KIND, shown, config as JsonObject, options);
      const metadata = { ...metaOf(applied.object), managedFields: applied.managedFields, resourceVersion: resourceVersion ?? live.metadata.resourceVersion };
      const merged = withCredentials({ ...applied.object, metadata }, credentials);
      // A no-op apply (nothing but managedFields times would change) is answered by the registry without a write.
      if (!dryRun && Object.keys(credentials).length === 0 && resourceVersion === undefined && unchanged(merged, shown)) return { body: live, warnings: [], created: false };
      try {
        return { ...(await this.write(name, merged, q)), created: false };
      } catch (error) {
        if (!isReason(error, ErrorReason.Conflict) || resourceVersion !== undefined || attempt >= WRITE_ATTEMPTS) throw error;
      }
    }
  }

  private async find(name: string): Promise<Cluster | undefined> {
    try {
      return await this.registry.getCluster(name);
    } catch (error) {
      if (isReason(error, ErrorReason.NotFound)) return undefined;
      throw error;
    }
  }

  /**
   * PATCH (merge or JSON patch): credentials in the labels and annotations it writes are handled as
   * for create (warnings); a patch that changes a credential is refused by the registry, which
   * compares it with the stored one. On a cluster with managedFields, the writer's Update is
   * recorded as for PUT, computed against the stored resourceVersion (retried when another writer won).
   */
  async patch(name: string, contentType: string | undefined, patch: string, q: WriteQuery, writer: Writer = {}): Promise<Written<Cluster>> {
    const dryRun = parseDryRun(q.dryRun);
    const patchType = patchTypeFromContentType(contentType, [PatchType.Merge, PatchType.Json]);
    const manager = managerOf(writer);
    let parsed: unknown;
    try {
      parsed = parseJsonBounded(patch, 'the patch');
    } catch {
      // The registry answers an unparseable patch with the Status that names the problem.
      return { body: await this.registry.patchCluster(name, patchType, patch, { dryRun }), warnings: [] };
    }
    const scrubbed = scrubCredentialsFromPatch(name, patchType === PatchType.Merge ? 'merge' : 'json', parsed);
    const text = scrubbed.warnings.length > 0 ? JSON.stringify(scrubbed.patch) : patch;
    for (let attempt = 1; ; attempt++) {
      const live = await this.registry.getCluster(name);
      const recorded = managedFieldsAfterPatch(live, patchType, scrubbed.patch, manager);
      if (!recorded) return { body: await this.registry.patchCluster(name, patchType, text, { dryRun }), warnings: scrubbed.warnings };
      try {
        const body = await this.registry.patchCluster(name, patchType, text, { dryRun, managedFields: recorded.managedFields, resourceVersion: live.metadata.resourceVersion });
        return { body, warnings: scrubbed.warnings };
      } catch (error) {
        if (!isReason(error, ErrorReason.Conflict) || recorded.clientVersion || attempt >= WRITE_ATTEMPTS) throw error;
      }
    }
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
