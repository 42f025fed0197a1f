import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  CLUSTER_API_VERSION,
  CLUSTER_KIND,
  Cluster,
  ClusterConditionType,
  ClusterCredentials,
  ClusterErrors,
  ClusterStatus,
  ErrorReason,
  FlotillaError,
  ManagedFieldsEntry,
  ObjectMeta,
  PatchType,
  UNBIND_FINALIZER,
  applyJsonPatch,
  applyMergePatch,
  credentialSecrets,
  parseFieldSelector,
  parseLabelSelector,
  scrubCredentialsFromMetadata,
  setCondition,
  splitCredentials,
  validateClusterInput,
} from '@flotilla/domain';
import { Transaction, UnitOfWork } from '@flotilla/persistence';
import { JOBS, JobName, parsePayload } from '@flotilla/queue';
import { CredentialVault } from '../credentials/credential-vault';
import { Clock } from '../infrastructure/clock';
import { CLOCK } from '../infrastructure/tokens';
import { OutboxRepository } from '../outbox/outbox.repository';
import { LastProbeTimes } from '../probe-times/last-probe-times';
import { decodeContinue, encodeContinue } from './continue-token';
import { CredentialWriter, changedCredentialFields, credentialChangeRefused, doorWritesAreLasting } from './credential-door';
import { ClusterChangesRepository } from './store/cluster-changes.repository';
import { ClustersRepository } from './store/clusters.repository';
import { ParseLimitError, parseJsonBounded } from '@flotilla/parsing';

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continueToken?: string;
}

export interface ClusterPage {
  resourceVersion: string;
  items: Cluster[];
  continueToken?: string;
  remainingItemCount?: number;
}

export interface DeleteOutcome {
  deleted: boolean;
  cluster: Cluster;
}

const SUPPORTED_FIELDS = ['metadata.name'];
/**
 * Lists are pages (issue 13): without a limit a 10,000-cluster fleet exceeded gRPC's 4 MB message
 * size. A missing (or 0) limit is the default page; a larger one is clamped, never refused, so a
 * caller that follows metadata.continue always gets everything.
 */
export const DEFAULT_LIST_LIMIT = 500;
export const MAX_LIST_LIMIT = 1000;

/** Record times have second precision, as Kubernetes shows them. */
const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Metadata as the API shows it: empty labels, annotations and finalizers are left out. */
function shownMetadata(m: ObjectMeta): ObjectMeta {
  const out: ObjectMeta = { ...m };
  if (!out.labels || Object.keys(out.labels).length === 0) delete out.labels;
  if (!out.annotations || Object.keys(out.annotations).length === 0) delete out.annotations;
  if (!out.finalizers || out.finalizers.length === 0) delete out.finalizers;
  if (!out.deletionTimestamp) delete out.deletionTimestamp;
  if (!out.managedFields || out.managedFields.length === 0) delete out.managedFields;
  return out;
}

export interface PatchPreconditions {
  /** The managedFields to store with the patched object (the gateway computes them); absent: as the patch leaves them. */
  managedFields?: ManagedFieldsEntry[];
  /** The stored resourceVersion the patch was computed against. */
  resourceVersion?: string;
}

/** managedFields equal but for their times: kube-apiserver does not write an update that changes only those. */
function sameManagedFields(a: ManagedFieldsEntry[] | undefined, b: ManagedFieldsEntry[] | undefined): boolean {
  const strip = (list: ManagedFieldsEntry[] | undefined) => (list ?? []).map(({ time: _time, ...rest }) => rest);
  return isDeepStrictEqual(strip(a), strip(b));
}

/**
 * managedFields hold field paths only. A set's or a keyed list's path element carries a value
 * (v:..., k:...), so one could carry a credential: refused, naming no value.
 */
function refuseSecretsInManagedFields(name: string, managedFields: ManagedFieldsEntry[] | undefined, secrets: string[]): void {
  if (!managedFields || managedFields.length === 0 || secrets.length === 0) return;
  const text = JSON.stringify(managedFields);
  if (!secrets.some((s) => text.includes(s) || text.includes(JSON.stringify(s).slice(1, -1)))) return;
  throw ClusterErrors.invalid(name, [
    { reason: 'FieldValueForbidden', field: 'metadata.managedFields', message: "Forbidden: holds this cluster's own credential: managedFields hold field paths, never a credential" },
  ]);
}

/**
 * The rules of how clusters are written: create, replace, patch, delete with finalizers, status.
 * Every write is one unit of work: the record, its credentials, its change-log row and its job.
 */
@Injectable()
export class ClustersService {
  constructor(
    private readonly uow: UnitOfWork,
    private readonly clusters: ClustersRepository,
    private readonly changes: ClusterChangesRepository,
    private readonly vault: CredentialVault,
    private readonly outbox: OutboxRepository,
    private readonly probeTimes: LastProbeTimes,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async get(name: string): Promise<Cluster> {
    const cluster = await this.clusters.findByName(name);
    if (!cluster) throw ClusterErrors.notFound(name);
    return (await this.probeTimes.attach([cluster]))[0]!;
  }

  async list(options: ListOptions): Promise<ClusterPage> {
    const labels = parseLabelSelector(options.labelSelector);
    const fields = parseFieldSelector(options.fieldSelector, SUPPORTED_FIELDS);
    if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 0)) {
      throw new FlotillaError(ErrorReason.BadRequest, 'limit must be a non-negative whole number', {
        causes: [{ reason: 'FieldValueInvalid', field: 'limit', message: 'must be a non-negative whole number' }],
      });
    }
    const limit = options.limit ? Math.min(options.limit, MAX_LIST_LIMIT) : DEFAULT_LIST_LIMIT;
    const token = options.continueToken ? decodeContinue(options.continueToken) : undefined;
    const resourceVersion = token?.rv ?? (await this.changes.currentResourceVersion());
    const result = await this.clusters.list({ labels, fields, limit, afterName: token?.after });
    const page: ClusterPage = { resourceVersion, items: await this.probeTimes.attach(result.items) };
    if (result.hasMore) {
      page.continueToken = encodeContinue({ v: 1, after: result.items[result.items.length - 1]!.metadata.name, rv: resourceVersion });
      page.remainingItemCount = result.remaining;
    }
    return page;
  }

  /**
   * Stores a new cluster (credentials encrypted) with Initialized=False and Ready=Unknown,
   * and enqueues its import through the outbox, all in one transaction.
   */
  async create(input: Cluster, dryRun: boolean): Promise<Cluster> {
    const { cluster: valid } = validateClusterInput(input, 'create');
    const { cluster, credentials } = splitCredentials(valid);
    // No credential in labels or annotations: stripped from structured values (last-applied-configuration), refused as values.
    const { annotations } = scrubCredentialsFromMetadata(cluster.metadata.name, cluster.metadata.labels, cluster.metadata.annotations, credentialSecrets(credentials));
    refuseSecretsInManagedFields(cluster.metadata.name, cluster.metadata.managedFields, credentialSecrets(credentials));
    const now = this.clock.now();
    const status: ClusterStatus = {};
    status.conditions = setCondition(
      setCondition(undefined, { type: ClusterConditionType.Initialized, status: 'False', reason: 'Pending', message: 'waiting for the import job' }, now),
      { type: ClusterConditionType.Ready, status: 'Unknown', reason: 'Importing', message: 'the cluster has not been probed yet' },
      now,
    );
    const name = cluster.metadata.name;
    const draft: Cluster = {
      apiVersion: CLUSTER_API_VERSION,
      kind: CLUSTER_KIND,
      metadata: shownMetadata({
        name,
        uid: randomUUID(),
        resourceVersion: '',
        generation: 1,
        creationTimestamp: isoSeconds(now),
        labels: cluster.metadata.labels,
        annotations,
        // DELETE unbinds: the removal job cleans the member, then takes this finalizer off.
        finalizers: [...new Set([...(cluster.metadata.finalizers ?? []), UNBIND_FINALIZER])],
        managedFields: cluster.metadata.managedFields,
      }),
      spec: cluster.spec,
      status,
    };
    if (dryRun) {
      if (await this.clusters.findByName(name)) throw ClusterErrors.alreadyExists(name);
      return draft;
    }
    const uid = draft.metadata.uid!;
    const created = await this.uow.run(async (tx) => {
      const stored = await this.clusters.insert(tx, { ...draft, metadata: { ...draft.metadata, resourceVersion: await this.changes.nextResourceVersion(tx) } });
      await this.vault.store(tx, uid, credentials);
      await this.changes.append(tx, 'ADDED', stored);
      await this.enqueue(tx, JobName.ClusterImport, stored);
      return stored;
    });
    // A probe time left by an earlier cluster of the same name is not this one's.
    await this.probeTimes.forget(name);
    return created;
  }

  /**
   * PUT: replaces metadata and spec; status is the platform's. Omitted credentials are kept; only
   * the credential door (`writer`) may change them, anyone else may only resend the stored ones.
   */
  async update(input: Cluster, dryRun: boolean, writer: CredentialWriter = 'resource-api'): Promise<Cluster> {
    const { cluster: valid } = validateClusterInput(input, 'update');
    return this.uow.run(async (tx) => {
      const current = await this.lockExisting(tx, valid.metadata.name);
      return this.replace(tx, current, valid, dryRun, writer);
    });
  }

  /**
   * PATCH of metadata and spec (merge patch or JSON patch), atomic with the read; credentials as for
   * update. `preconditions`: the stored resourceVersion the caller computed `managedFields` against.
   */
  async patch(name: string, patchType: string, patchText: string, dryRun: boolean, writer: CredentialWriter = 'resource-api', preconditions: PatchPreconditions = {}): Promise<Cluster> {
    let patch: unknown;
    try {
      patch = parseJsonBounded(patchText, 'the patch');
    } catch (error) {
      const detail = error instanceof ParseLimitError && error.kind !== 'syntax' ? error.detail : 'not valid JSON';
      throw new FlotillaError(ErrorReason.BadRequest, `the patch is ${detail === 'not valid JSON' ? 'not valid JSON' : `refused: it ${detail}`}`, {
        causes: [{ reason: 'FieldValueInvalid', field: 'patch', message: detail }],
      });
    }
    return this.uow.run(async (tx) => {
      const current = await this.lockExisting(tx, name);
      if (preconditions.resourceVersion && preconditions.resourceVersion !== current.metadata.resourceVersion) throw ClusterErrors.conflict(name);
      const shown = structuredClone(current);
      delete shown.status;
      let patched: unknown;
      if (patchType === PatchType.Merge) patched = applyMergePatch(shown, patch);
      else if (patchType === PatchType.Json) patched = applyJsonPatch(shown, patch);
      else {
        throw new FlotillaError(ErrorReason.UnsupportedMediaType, `patch type ${patchType} is not supported for clusters; use ${PatchType.Merge} or ${PatchType.Json}`);
      }
      const { cluster: valid } = validateClusterInput(patched, 'update');
      if (valid.metadata.name !== name) {
        throw ClusterErrors.invalid(name, [{ reason: 'FieldValueInvalid', field: 'metadata.name', message: 'field is immutable' }]);
      }
      if (preconditions.managedFields !== undefined) valid.metadata.managedFields = preconditions.managedFields;
      return this.replace(tx, current, valid, dryRun, writer);
    });
  }

  /**
   * Deletes a cluster. While finalizers remain, it is only marked (deletionTimestamp) and
   * the finalizers' owners finish the job; the record goes when the last one is removed.
   */
  async delete(name: string, preconditions: { uid?: string; resourceVersion?: string }, dryRun: boolean): Promise<DeleteOutcome> {
    const outcome = await this.uow.run((tx) => this.deleteRecord(tx, name, preconditions, dryRun));
    if (outcome.deleted && !dryRun) await this.probeTimes.forget(name);
    return outcome;
  }

  private async lockExisting(tx: Transaction, name: string): Promise<Cluster> {
    const current = await this.clusters.findByNameForUpdate(tx, name);
    if (!current) throw ClusterErrors.notFound(name);
    return current;
  }

  private async replace(tx: Transaction, current: Cluster, valid: Cluster, dryRun: boolean, writer: CredentialWriter): Promise<Cluster> {
    const name = current.metadata.name;
    if (valid.metadata.resourceVersion !== undefined && valid.metadata.resourceVersion !== current.metadata.resourceVersion) {
      throw ClusterErrors.conflict(name);
    }
    if (valid.metadata.uid !== undefined && valid.metadata.uid !== current.metadata.uid) {
      throw ClusterErrors.conflict(name, `Precondition failed: UID in precondition: ${valid.metadata.uid}, UID in object meta: ${current.metadata.uid}`);
    }
    const { cluster, credentials: given } = splitCredentials(valid);
    const labels = cluster.metadata.labels ?? {};
    const metadataChanged = !isDeepStrictEqual(labels, current.metadata.labels ?? {}) || !isDeepStrictEqual(cluster.metadata.annotations ?? {}, current.metadata.annotations ?? {});
    // Absent: kept as stored (a writer that knows nothing of them, e.g. a platform service); [] clears them.
    const managedFields = cluster.metadata.managedFields ?? current.metadata.managedFields ?? [];
    const managedFieldsChanged = !isDeepStrictEqual(managedFields, current.metadata.managedFields ?? []);
    // Decrypted in this transaction, under the row lock: compared with what is given, and looked for in labels, annotations and managedFields.
    const stored = Object.keys(given).length > 0 || metadataChanged || managedFieldsChanged ? (await this.vault.open(current.metadata.uid!, tx)).credentials : {};
    // One door: outside it, a credential may be resent unchanged (kubectl apply round trips) but not changed.
    let credentials = given;
    if (writer !== 'door') {
      // The user's credential the door superseded with a lasting one (the original file, re-applied) counts as unchanged.
      const changed = await this.vault.notSuperseded(tx, current.metadata.uid!, changedCredentialFields(stored, given), given);
      if (changed.length > 0) throw credentialChangeRefused(name, changed);
      credentials = {};
    } else if (!dryRun) await this.vault.recordSuperseded(tx, current.metadata.uid!, stored, given, doorWritesAreLasting(cluster));
    const annotations = metadataChanged
      ? (scrubCredentialsFromMetadata(name, labels, cluster.metadata.annotations, credentialSecrets({ ...stored, ...credentials })).annotations ?? {})
      : (cluster.metadata.annotations ?? {});
    if (managedFieldsChanged) refuseSecretsInManagedFields(name, managedFields, credentialSecrets({ ...stored, ...credentials }));
    const finalizers = cluster.metadata.finalizers ?? [];
    const currentFinalizers = current.metadata.finalizers ?? [];
    if (current.metadata.deletionTimestamp) {
      const added = finalizers.filter((f) => !currentFinalizers.includes(f));
      if (added.length > 0) {
        throw ClusterErrors.invalid(name, [
          { reason: 'FieldValueForbidden', field: 'metadata.finalizers', message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}` },
        ]);
      }
    }
    const specChanged = !isDeepStrictEqual(cluster.spec, current.spec) || Object.keys(credentials).length > 0;
    const unchanged =
      !specChanged &&
      isDeepStrictEqual(labels, current.metadata.labels ?? {}) &&
      isDeepStrictEqual(annotations, current.metadata.annotations ?? {}) &&
      isDeepStrictEqual(finalizers, currentFinalizers) &&
      sameManagedFields(managedFields, current.metadata.managedFields);
    if (unchanged) return current;
    const generation = current.metadata.generation ?? 1;
    const next: Cluster = {
      ...current,
      metadata: shownMetadata({ ...current.metadata, labels, annotations, finalizers, managedFields, generation: specChanged ? generation + 1 : generation }),
      spec: cluster.spec,
    };
    if (dryRun) return next;
    if (next.metadata.deletionTimestamp && finalizers.length === 0) return (await this.removeRecord(tx, next)).cluster;
    return this.writeModified(tx, next, credentials);
  }

  private async deleteRecord(tx: Transaction, name: string, preconditions: { uid?: string; resourceVersion?: string }, dryRun: boolean): Promise<DeleteOutcome> {
    const current = await this.lockExisting(tx, name);
    const { uid, resourceVersion } = current.metadata;
    if (preconditions.uid && preconditions.uid !== uid) {
      throw ClusterErrors.conflict(name, `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${uid}`);
    }
    if (preconditions.resourceVersion && preconditions.resourceVersion !== resourceVersion) {
      throw ClusterErrors.conflict(name, `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${resourceVersion}`);
    }
    const finalizers = current.metadata.finalizers ?? [];
    if (finalizers.length > 0) {
      if (current.metadata.deletionTimestamp) return { deleted: false, cluster: current };
      const next: Cluster = { ...current, metadata: { ...current.metadata, deletionTimestamp: isoSeconds(this.clock.now()) } };
      if (dryRun) return { deleted: false, cluster: next };
      const marked = await this.writeModified(tx, next);
      if (finalizers.includes(UNBIND_FINALIZER)) await this.enqueue(tx, JobName.ClusterRemove, marked);
      return { deleted: false, cluster: marked };
    }
    if (dryRun) return { deleted: true, cluster: current };
    return this.removeRecord(tx, current);
  }

  /** Stores a changed cluster at a new resourceVersion (with any new credentials) and logs the change. */
  private async writeModified(tx: Transaction, next: Cluster, credentials?: ClusterCredentials): Promise<Cluster> {
    const stored = await this.clusters.update(tx, { ...next, metadata: { ...next.metadata, resourceVersion: await this.changes.nextResourceVersion(tx) } });
    if (credentials) await this.vault.store(tx, stored.metadata.uid!, credentials);
    await this.changes.append(tx, 'MODIFIED', stored);
    return stored;
  }

  private async removeRecord(tx: Transaction, cluster: Cluster): Promise<DeleteOutcome> {
    const resourceVersion = await this.changes.nextResourceVersion(tx);
    await this.clusters.remove(tx, cluster.metadata.uid!);
    const shown: Cluster = { ...cluster, metadata: { ...cluster.metadata, resourceVersion } };
    await this.changes.append(tx, 'DELETED', shown);
    return { deleted: true, cluster: shown };
  }

  /** Adds a cluster's import or removal job to the outbox, in the transaction of the write that causes it. */
  private async enqueue(tx: Transaction, job: JobName.ClusterImport | JobName.ClusterRemove, cluster: Cluster): Promise<void> {
    const definition = JOBS[job];
    const payload = parsePayload(definition.name, definition.schema, { name: cluster.metadata.name, uid: cluster.metadata.uid });
    await this.outbox.add(tx, definition.name, payload, definition.idempotencyKey(payload));
  }
}
