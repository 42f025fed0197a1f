import { Observable, filter, map } from 'rxjs';
import {
  CLUSTER_API_VERSION,
  CLUSTER_LIST_KIND,
  Cluster,
  ClusterCredentials,
  ClusterStatus,
  ErrorReason,
  FlotillaError,
  MEMBER_UID_LABEL,
  ManagedFieldsEntry,
  PatchType,
} from '@flotilla/domain';
import { clusterFromProto, clusterToProto, errorReasonOf, registryV1, statusToProto } from '@flotilla/contracts';
import { GrpcServiceClient } from './grpc-client';

export const REGISTRY_CLIENT = Symbol('flotilla.clients.registry');

/** One status write of a batch (UpdateClusterStatuses). */
export interface StatusWrite {
  name: string;
  /** When set, must still be the stored one (Conflict otherwise). */
  resourceVersion?: string;
  status: ClusterStatus;
}

/** What became of one write of a batch. */
export type StatusWriteResult = { name: string; cluster: Cluster } | { name: string; error: FlotillaError };

const asReason = (reason: string): ErrorReason => errorReasonOf(reason) ?? ErrorReason.InternalError;

/** One page of clusters, in the Kubernetes list shape the REST API serves. */
export interface ClusterList {
  apiVersion: typeof CLUSTER_API_VERSION;
  kind: typeof CLUSTER_LIST_KIND;
  /** resourceVersion is opaque: compare it for equality only. */
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: Cluster[];
}

export interface ListClustersOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * At most this many per page. Unset or 0: the registry's default page (500); more than 1000 is
   * served as 1000. Follow metadata.continue (or use listAllClusters) to get everything.
   */
  limit?: number;
  /** The continue token of the previous page. */
  continue?: string;
}

export interface WatchClustersOptions {
  /** Changes after this version; unset: the current state first, as ADDED events. */
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  allowBookmarks?: boolean;
  /** The end user the gateway watches for: the registry's per-caller watch limit counts them apart. */
  onBehalfOf?: string;
}

/** A job record of a followed cluster changed; jobName '' means "read the jobs now" (the start of the follow). */
export interface ImportJobSignal {
  jobName: string;
  /** The job's version (opaque), '' with an empty jobName. */
  resourceVersion: string;
}

/** A change to one cluster, as a watch delivers it. */
export interface ClusterChange {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Cluster;
}

/** A bookmark: the watch has seen everything up to this (opaque) version. */
export interface ClusterBookmark {
  type: 'BOOKMARK';
  resourceVersion: string;
}

export type ClusterWatchEvent = ClusterChange | ClusterBookmark;

/** A cluster's decrypted credentials, with the uid of the cluster they belong to. */
export interface StoredCredentials extends ClusterCredentials {
  uid: string;
}

export interface DeleteClusterOptions {
  /** When set, the stored cluster must have this uid and resourceVersion. */
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

/** What a delete did: removed the record, or marked it (finalizers remain); `cluster` as it was or now is. */
export interface DeleteOutcome {
  deleted: boolean;
  cluster: Cluster;
}

const CHANGE_TYPES: readonly string[] = ['ADDED', 'MODIFIED', 'DELETED'];

/**
 * The registry's cluster API (flotilla.registry.v1.RegistryService) for other services, in domain
 * types: callers never see the wire messages. Errors arrive as the FlotillaError the registry threw.
 */
export class RegistryClient {
  private readonly grpc: GrpcServiceClient<registryV1.RegistryServiceClient>;

  constructor(target: string, internalToken?: string, deadlineMs = 10_000) {
    this.grpc = new GrpcServiceClient(
      target,
      { package: registryV1.PROTOBUF_PACKAGE, protoFile: registryV1.PROTO_FILE, service: registryV1.REGISTRY_SERVICE_NAME },
      { internalToken, deadlineMs, upstream: 'registry' },
    );
  }

  private get s(): registryV1.RegistryServiceClient {
    return this.grpc.service;
  }

  /** The cluster, or NotFound. */
  async getCluster(name: string): Promise<Cluster> {
    return clusterFromProto(await this.grpc.unary(this.s.getCluster, { name }));
  }

  /** The cluster, or undefined when there is none by that name. */
  async findCluster(name: string): Promise<Cluster | undefined> {
    try {
      return await this.getCluster(name);
    } catch (error) {
      if (error instanceof FlotillaError && error.reason === ErrorReason.NotFound) return undefined;
      throw error;
    }
  }

  async listClusters(options: ListClustersOptions = {}): Promise<ClusterList> {
    const page = await this.grpc.unary(this.s.listClusters, {
      labelSelector: options.labelSelector ?? '',
      fieldSelector: options.fieldSelector ?? '',
      limit: options.limit ?? 0,
      continue: options.continue ?? '',
    });
    const metadata: ClusterList['metadata'] = { resourceVersion: page.metadata?.resourceVersion ?? '' };
    if (page.metadata?.continue) metadata.continue = page.metadata.continue;
    if (page.metadata?.remainingItemCount) metadata.remainingItemCount = Number(page.metadata.remainingItemCount);
    return { apiVersion: CLUSTER_API_VERSION, kind: CLUSTER_LIST_KIND, metadata, items: (page.items ?? []).map((c) => clusterFromProto(c)) };
  }

  /**
   * Every page of a list, one gRPC call each (pages of `limit`, default the registry's 500), so no
   * answer grows with the fleet. The first page's resourceVersion is the list's.
   */
  async *listAllClusters(options: Omit<ListClustersOptions, 'continue'> & { continue?: string } = {}): AsyncGenerator<ClusterList> {
    let next = options.continue;
    do {
      const page = await this.listClusters({ ...options, ...(next ? { continue: next } : { continue: undefined }) });
      yield page;
      next = page.metadata.continue;
    } while (next);
  }

  /** The name of the cluster imported from the member with this kube-system UID, other than `exceptName`. */
  async clusterWithMemberUid(memberUid: string, exceptName?: string): Promise<string | undefined> {
    for await (const page of this.listAllClusters({ labelSelector: `${MEMBER_UID_LABEL}=${memberUid}` })) {
      const found = page.items.map((c) => c.metadata.name).find((n) => n !== exceptName);
      if (found) return found;
    }
    return undefined;
  }

  /** Creates the cluster with its write-only credentials (sent, never returned). */
  async createCluster(cluster: Cluster, options: { dryRun?: boolean } = {}): Promise<Cluster> {
    return clusterFromProto(await this.grpc.unary(this.s.createCluster, { cluster: clusterToProto(cluster, true), dryRun: options.dryRun ?? false }));
  }

  /** Replaces metadata and spec (credentials included when set); a resourceVersion, when set, must match. */
  async updateCluster(cluster: Cluster, options: { dryRun?: boolean } = {}): Promise<Cluster> {
    return clusterFromProto(await this.grpc.unary(this.s.updateCluster, { cluster: clusterToProto(cluster, true), dryRun: options.dryRun ?? false }));
  }

  /**
   * Applies a merge patch or JSON patch (`patch` is its JSON text) to metadata and spec. With
   * `managedFields`, they are stored with the result (they were computed against `resourceVersion`,
   * which must then still be the stored one: a Conflict otherwise).
   */
  async patchCluster(name: string, patchType: PatchType, patch: string, options: { dryRun?: boolean; managedFields?: ManagedFieldsEntry[]; resourceVersion?: string } = {}): Promise<Cluster> {
    return clusterFromProto(
      await this.grpc.unary(this.s.patchCluster, {
        name,
        patchType,
        patch,
        dryRun: options.dryRun ?? false,
        managedFieldsJson: options.managedFields !== undefined ? JSON.stringify(options.managedFields) : '',
        resourceVersion: options.resourceVersion ?? '',
      }),
    );
  }

  async deleteCluster(name: string, options: DeleteClusterOptions = {}): Promise<DeleteOutcome> {
    const p = options.preconditions ?? {};
    const outcome = await this.grpc.unary(this.s.deleteCluster, {
      name,
      preconditions: { uid: p.uid ?? '', resourceVersion: p.resourceVersion ?? '' },
      dryRun: options.dryRun ?? false,
    });
    return { deleted: outcome.deleted ?? false, cluster: clusterFromProto(outcome.cluster ?? {}) };
  }

  /** Writes the status subresource; `resourceVersion`, when set, must match the stored one. */
  async updateClusterStatus(name: string, status: ClusterStatus, options: { resourceVersion?: string } = {}): Promise<Cluster> {
    return clusterFromProto(await this.grpc.unary(this.s.updateClusterStatus, { name, resourceVersion: options.resourceVersion ?? '', status: statusToProto(status) }));
  }

  /**
   * Many status writes in one registry transaction (at most 500). results[i] answers writes[i]:
   * the cluster as stored, or the reason it was not written (NotFound, Conflict, Invalid).
   */
  async updateClusterStatuses(writes: readonly StatusWrite[]): Promise<StatusWriteResult[]> {
    const out = await this.grpc.unary(this.s.updateClusterStatuses, {
      items: writes.map((w) => ({ name: w.name, resourceVersion: w.resourceVersion ?? '', status: statusToProto(w.status) })),
    });
    const results = out.results ?? [];
    return writes.map((w, i): StatusWriteResult => {
      const r = results[i];
      if (!r) return { name: w.name, error: new FlotillaError(ErrorReason.InternalError, `the registry did not answer the status write of ${w.name}`) };
      if (r.errorReason) return { name: w.name, error: new FlotillaError(asReason(r.errorReason), r.errorMessage ?? r.errorReason) };
      return { name: w.name, cluster: clusterFromProto(r.cluster ?? {}) };
    });
  }

  /** Decrypted credentials: sent with the internal token. */
  async getClusterCredentials(name: string): Promise<StoredCredentials> {
    const c = await this.grpc.unary(this.s.getClusterCredentials, { name }, true);
    const out: StoredCredentials = { uid: c.uid ?? '' };
    if (c.kubeconfig) out.kubeconfig = c.kubeconfig;
    if (c.token) out.token = c.token;
    return out;
  }

  /** Last probe times (health-probe), RFC 3339, sent with the internal token. Returns how many were stored. */
  async recordProbeTimes(entries: readonly { name: string; time: string }[]): Promise<number> {
    const out = await this.grpc.unary(this.s.recordProbeTimes, { entries: entries.map(({ name, time }) => ({ name, time })) }, true);
    return out.recorded ?? 0;
  }

  /** Streams changes (and bookmarks when allowed); unsubscribing ends the watch. Errors arrive as domain errors (e.g. Expired). */
  watchClusters(options: WatchClustersOptions = {}): Observable<ClusterWatchEvent> {
    return this.grpc
      .stream(this.s.watchClusters, {
        resourceVersion: options.resourceVersion ?? '',
        labelSelector: options.labelSelector ?? '',
        fieldSelector: options.fieldSelector ?? '',
        allowBookmarks: options.allowBookmarks ?? false,
        onBehalfOf: options.onBehalfOf ?? '',
        importJobChanges: false,
      })
      .pipe(
        map((e): ClusterWatchEvent => {
          if (e.type === 'BOOKMARK') return { type: 'BOOKMARK', resourceVersion: e.object?.metadata?.resourceVersion ?? '' };
          const type = CHANGE_TYPES.includes(e.type ?? '') ? (e.type as ClusterChange['type']) : 'MODIFIED';
          return { type, object: clusterFromProto(e.object ?? {}) };
        }),
      );
  }

  /**
   * Signals when a job record of cluster `clusterName` changes (from the registry's job-change
   * notifications, over the clusters watch): first one with an empty jobName once the registry
   * follows, then one per change. The caller reads the jobs on each; nothing is polled.
   */
  watchImportJobChanges(clusterName: string, options: { onBehalfOf?: string } = {}): Observable<ImportJobSignal> {
    return this.grpc
      .stream(this.s.watchClusters, {
        resourceVersion: '',
        labelSelector: '',
        fieldSelector: `metadata.name=${clusterName}`,
        allowBookmarks: false,
        onBehalfOf: options.onBehalfOf ?? '',
        importJobChanges: true,
      })
      .pipe(
        filter((e) => e.type === 'IMPORT_JOB'),
        map((e): ImportJobSignal => ({ jobName: e.importJob ?? '', resourceVersion: e.object?.metadata?.resourceVersion ?? '' })),
      );
  }

  close(): void {
    this.grpc.close();
  }
}
