import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  Cluster,
  ClusterConditionType,
  ClusterCondition,
  ClusterCredentials,
  ClusterErrors,
  ClusterStatus,
  ConditionStatus,
  ErrorReason,
  FlotillaError,
  PatchType,
  UNBIND_FINALIZER,
  applyJsonPatch,
  applyMergePatch,
  parseFieldSelector,
  parseLabelSelector,
  setCondition,
  splitCredentials,
  validateClusterInput,
} from '@flotilla/domain';
import { SecretBox } from '@flotilla/persistence';
import { JOBS, JobName, parsePayload } from '@flotilla/queue';
import { ClusterEntity, CredentialKind } from './cluster.entity';
import { toCluster } from './cluster.mapper';
import { ClustersRepository, ClustersTransaction, isUniqueViolation } from './clusters.repository';
import { ProbeTimesRepository } from './probe-times.repository';

export const SECRET_BOX = Symbol('registry.secret-box');

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
const MAX_LIMIT = 1000;
const CONDITION_STATUSES: ConditionStatus[] = ['True', 'False', 'Unknown'];

interface ContinueToken {
  v: 1;
  after: string;
  rv: string;
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify(token), 'utf8').toString('base64url');
}

function decodeContinue(raw: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as ContinueToken;
    if (parsed.v === 1 && typeof parsed.after === 'string' && typeof parsed.rv === 'string') return parsed;
  } catch {
    // fall through
  }
  throw new FlotillaError(ErrorReason.BadRequest, 'invalid continue token: pass the metadata.continue value of the previous page unchanged', {
    causes: [{ reason: 'FieldValueInvalid', field: 'continue', message: 'not a continue token issued by this server' }],
  });
}

const MAX_PROBE_TIMES = 10_000;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

const credentialAad = (uid: string, kind: CredentialKind) => `cluster/${uid}/${kind}`;

/** The system of record for clusters: every rule of how they are written lives here. */
@Injectable()
export class ClustersService {
  constructor(
    private readonly repo: ClustersRepository,
    @Inject(SECRET_BOX) private readonly secrets: SecretBox,
    private readonly probeTimes: ProbeTimesRepository,
  ) {}

  async get(name: string): Promise<Cluster> {
    const entity = await this.repo.findByName(name);
    if (!entity) throw ClusterErrors.notFound(name);
    return (await this.withProbeTimes([toCluster(entity)]))[0]!;
  }

  /**
   * Adds status.lastProbeTime from the probe-time store. Best effort: when that store cannot be
   * read, the clusters are returned without it rather than not at all.
   */
  async withProbeTimes(clusters: Cluster[]): Promise<Cluster[]> {
    const times = await this.probeTimes.read(clusters.map((c) => c.metadata.name)).catch(() => new Map<string, string>());
    if (times.size === 0) return clusters;
    return clusters.map((c) => {
      const t = times.get(c.metadata.name);
      return t ? { ...c, status: { ...c.status, lastProbeTime: t } } : c;
    });
  }

  /** Drops probe times of clusters that no longer exist (removed through a path that could not forget them). */
  async pruneProbeTimes(): Promise<number> {
    const names = await this.probeTimes.names();
    const existing = await this.repo.existingNames(names);
    const gone = names.filter((n) => !existing.has(n));
    await this.probeTimes.forget(...gone);
    return gone.length;
  }

  /** Last probe times from the health probe (internal). Names of clusters that do not exist are skipped. */
  async recordProbeTimes(entries: { name: string; time: string }[]): Promise<number> {
    if (entries.length > MAX_PROBE_TIMES) {
      throw new FlotillaError(ErrorReason.BadRequest, `at most ${MAX_PROBE_TIMES} probe times per call; send them in batches`, {
        causes: [{ reason: 'FieldValueTooLong', field: 'entries', message: `must have at most ${MAX_PROBE_TIMES} items` }],
      });
    }
    const causes: { reason: string; field: string; message: string }[] = [];
    entries.forEach((e, i) => {
      if (!e.name || e.name.length > 253) causes.push({ reason: 'FieldValueInvalid', field: `entries[${i}].name`, message: 'must be a cluster name (1-253 characters)' });
      if (!RFC3339.test(e.time) || Number.isNaN(Date.parse(e.time))) {
        causes.push({ reason: 'FieldValueInvalid', field: `entries[${i}].time`, message: 'must be an RFC 3339 time, e.g. 2026-11-24T10:00:00.000Z' });
      }
    });
    if (causes.length > 0) throw new FlotillaError(ErrorReason.BadRequest, 'invalid probe times', { causes: causes.slice(0, 20) });
    const latest = new Map<string, string>();
    for (const e of entries) {
      const seen = latest.get(e.name);
      if (!seen || Date.parse(e.time) > Date.parse(seen)) latest.set(e.name, e.time);
    }
    const existing = await this.repo.existingNames([...latest.keys()]);
    for (const name of [...latest.keys()]) if (!existing.has(name)) latest.delete(name);
    await this.probeTimes.record(latest);
    return latest.size;
  }

  async list(options: ListOptions): Promise<ClusterPage> {
    const labels = parseLabelSelector(options.labelSelector);
    const fields = parseFieldSelector(options.fieldSelector, SUPPORTED_FIELDS);
    if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 0)) {
      throw new FlotillaError(ErrorReason.BadRequest, 'limit must be a non-negative whole number', {
        causes: [{ reason: 'FieldValueInvalid', field: 'limit', message: 'must be a non-negative whole number' }],
      });
    }
    const limit = options.limit ? Math.min(options.limit, MAX_LIMIT) : undefined;
    const token = options.continueToken ? decodeContinue(options.continueToken) : undefined;
    const resourceVersion = token?.rv ?? (await this.repo.currentResourceVersion());
    const result = await this.repo.list({ labels, fields, limit, afterName: token?.after });
    const page: ClusterPage = { resourceVersion, items: await this.withProbeTimes(result.items.map(toCluster)) };
    if (result.hasMore) {
      page.continueToken = encodeContinue({ v: 1, after: result.items[result.items.length - 1]!.name, rv: resourceVersion });
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
    const now = new Date();
    const status: ClusterStatus = {};
    status.conditions = setCondition(
      setCondition(undefined, { type: ClusterConditionType.Initialized, status: 'False', reason: 'Pending', message: 'waiting for the import job' }, now),
      { type: ClusterConditionType.Ready, status: 'Unknown', reason: 'Importing', message: 'the cluster has not been probed yet' },
      now,
    );
    const entity = Object.assign(new ClusterEntity(), {
      uid: randomUUID(),
      name: cluster.metadata.name,
      labels: cluster.metadata.labels ?? {},
      annotations: cluster.metadata.annotations ?? {},
      // DELETE unbinds: the removal job cleans the member, then takes this finalizer off.
      finalizers: [...new Set([...(cluster.metadata.finalizers ?? []), UNBIND_FINALIZER])],
      generation: '1',
      creationTimestamp: new Date(Math.floor(now.getTime() / 1000) * 1000),
      deletionTimestamp: null,
      spec: cluster.spec,
      status,
    });
    if (dryRun) {
      if (await this.repo.findByName(entity.name)) throw ClusterErrors.alreadyExists(entity.name);
      return toCluster({ ...entity, resourceVersion: '' } as ClusterEntity);
    }
    const importJob = JOBS[JobName.ClusterImport];
    const payload = parsePayload(importJob.name, importJob.schema, { name: entity.name, uid: entity.uid });
    try {
      const created = await this.repo.transaction(async (tx) => {
        entity.resourceVersion = await tx.nextResourceVersion();
        await tx.insert(entity);
        await this.writeCredentials(tx, entity.uid, credentials);
        const shown = toCluster(entity);
        await tx.appendChange('ADDED', entity.resourceVersion, entity.uid, entity.name, shown as unknown as Record<string, unknown>);
        await tx.addJob(importJob.name, payload, importJob.idempotencyKey(payload));
        return shown;
      });
      // A probe time left by an earlier cluster of the same name is not this one's.
      await this.probeTimes.forget(created.metadata.name).catch(() => undefined);
      return created;
    } catch (error) {
      if (isUniqueViolation(error)) throw ClusterErrors.alreadyExists(entity.name);
      throw error;
    }
  }

  /** PUT: replaces metadata and spec; status is the platform's. Omitted credentials are kept. */
  async update(input: Cluster, dryRun: boolean): Promise<Cluster> {
    const { cluster: valid } = validateClusterInput(input, 'update');
    return this.repo.transaction(async (tx) => {
      const current = await this.lockExisting(tx, valid.metadata.name);
      return this.replace(tx, current, valid, dryRun);
    });
  }

  /** PATCH of metadata and spec (merge patch or JSON patch), atomic with the read. */
  async patch(name: string, patchType: string, patchText: string, dryRun: boolean): Promise<Cluster> {
    let patch: unknown;
    try {
      patch = JSON.parse(patchText);
    } catch {
      throw new FlotillaError(ErrorReason.BadRequest, 'the patch is not valid JSON', {
        causes: [{ reason: 'FieldValueInvalid', field: 'patch', message: 'not valid JSON' }],
      });
    }
    return this.repo.transaction(async (tx) => {
      const current = await this.lockExisting(tx, name);
      const shown = toCluster(current);
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
      return this.replace(tx, current, valid, dryRun);
    });
  }

  private async lockExisting(tx: ClustersTransaction, name: string): Promise<ClusterEntity> {
    const current = await tx.findByNameForUpdate(name);
    if (!current) throw ClusterErrors.notFound(name);
    return current;
  }

  private async replace(tx: ClustersTransaction, current: ClusterEntity, valid: Cluster, dryRun: boolean): Promise<Cluster> {
    const name = current.name;
    if (valid.metadata.resourceVersion !== undefined && valid.metadata.resourceVersion !== String(current.resourceVersion)) {
      throw ClusterErrors.conflict(name);
    }
    if (valid.metadata.uid !== undefined && valid.metadata.uid !== current.uid) {
      throw ClusterErrors.conflict(name, `Precondition failed: UID in precondition: ${valid.metadata.uid}, UID in object meta: ${current.uid}`);
    }
    const { cluster, credentials } = splitCredentials(valid);
    const finalizers = cluster.metadata.finalizers ?? [];
    if (current.deletionTimestamp) {
      const added = finalizers.filter((f) => !current.finalizers.includes(f));
      if (added.length > 0) {
        throw ClusterErrors.invalid(name, [
          { reason: 'FieldValueForbidden', field: 'metadata.finalizers', message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}` },
        ]);
      }
    }
    const specChanged = !isDeepStrictEqual(cluster.spec, current.spec) || Object.keys(credentials).length > 0;
    const next = Object.assign(new ClusterEntity(), current, {
      labels: cluster.metadata.labels ?? {},
      annotations: cluster.metadata.annotations ?? {},
      finalizers,
      spec: cluster.spec,
      generation: specChanged ? String(Number(current.generation) + 1) : current.generation,
    });
    const unchanged =
      !specChanged &&
      isDeepStrictEqual(next.labels, current.labels) &&
      isDeepStrictEqual(next.annotations, current.annotations) &&
      isDeepStrictEqual(next.finalizers, current.finalizers);
    if (unchanged) return toCluster(current);
    if (dryRun) return toCluster(next);
    if (next.deletionTimestamp && next.finalizers.length === 0) {
      return (await this.removeRecord(tx, next)).cluster;
    }
    next.resourceVersion = await tx.nextResourceVersion();
    await tx.save(next);
    await this.writeCredentials(tx, next.uid, credentials);
    const shown = toCluster(next);
    await tx.appendChange('MODIFIED', next.resourceVersion, next.uid, next.name, shown as unknown as Record<string, unknown>);
    return shown;
  }

  /**
   * Deletes a cluster. While finalizers remain, it is only marked (deletionTimestamp) and
   * the finalizers' owners finish the job; the record goes when the last one is removed.
   */
  async delete(name: string, preconditions: { uid?: string; resourceVersion?: string }, dryRun: boolean): Promise<DeleteOutcome> {
    const outcome = await this.deleteRecord(name, preconditions, dryRun);
    if (outcome.deleted && !dryRun) await this.probeTimes.forget(name).catch(() => undefined);
    return outcome;
  }

  private deleteRecord(name: string, preconditions: { uid?: string; resourceVersion?: string }, dryRun: boolean): Promise<DeleteOutcome> {
    return this.repo.transaction(async (tx) => {
      const current = await this.lockExisting(tx, name);
      if (preconditions.uid && preconditions.uid !== current.uid) {
        throw ClusterErrors.conflict(name, `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${current.uid}`);
      }
      if (preconditions.resourceVersion && preconditions.resourceVersion !== String(current.resourceVersion)) {
        throw ClusterErrors.conflict(
          name,
          `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${current.resourceVersion}`,
        );
      }
      if (current.finalizers.length > 0) {
        if (current.deletionTimestamp) return { deleted: false, cluster: toCluster(current) };
        const next = Object.assign(new ClusterEntity(), current, { deletionTimestamp: new Date(Math.floor(Date.now() / 1000) * 1000) });
        if (dryRun) return { deleted: false, cluster: toCluster(next) };
        next.resourceVersion = await tx.nextResourceVersion();
        await tx.save(next);
        const shown = toCluster(next);
        await tx.appendChange('MODIFIED', next.resourceVersion, next.uid, next.name, shown as unknown as Record<string, unknown>);
        if (next.finalizers.includes(UNBIND_FINALIZER)) {
          const removeJob = JOBS[JobName.ClusterRemove];
          const payload = parsePayload(removeJob.name, removeJob.schema, { name: next.name, uid: next.uid });
          await tx.addJob(removeJob.name, payload, removeJob.idempotencyKey(payload));
        }
        return { deleted: false, cluster: shown };
      }
      if (dryRun) return { deleted: true, cluster: toCluster(current) };
      return this.removeRecord(tx, current);
    });
  }

  private async removeRecord(tx: ClustersTransaction, entity: ClusterEntity): Promise<DeleteOutcome> {
    const rv = await tx.nextResourceVersion();
    await tx.remove(entity.uid);
    const shown = toCluster({ ...entity, resourceVersion: rv } as ClusterEntity);
    await tx.appendChange('DELETED', rv, entity.uid, entity.name, shown as unknown as Record<string, unknown>);
    return { deleted: true, cluster: shown };
  }

  /**
   * The status subresource. Condition times follow Kubernetes: lastTransitionTime moves only
   * when a condition's status changes. A write that changes nothing is not written.
   */
  async updateStatus(name: string, resourceVersion: string | undefined, input: ClusterStatus): Promise<Cluster> {
    // Read-only: served from the probe-time store, never stored with the status.
    const { lastProbeTime: _readOnly, ...status } = input;
    this.validateStatus(name, status);
    return this.repo.transaction(async (tx) => {
      const current = await this.lockExisting(tx, name);
      if (resourceVersion && resourceVersion !== String(current.resourceVersion)) throw ClusterErrors.conflict(name);
      const now = new Date();
      let conditions: ClusterCondition[] | undefined = current.status.conditions;
      const incoming = status.conditions ?? [];
      const sameConditions = (a: ClusterCondition, b: ClusterCondition | undefined) =>
        b !== undefined && a.status === b.status && (a.reason ?? '') === (b.reason ?? '') && (a.message ?? '') === (b.message ?? '');
      const changed = incoming.filter((c) => !sameConditions(c, current.status.conditions?.find((p) => p.type === c.type)));
      for (const c of changed) conditions = setCondition(conditions, c, now);
      const next: ClusterStatus = { ...status };
      if (conditions && conditions.length > 0) next.conditions = conditions;
      else delete next.conditions;
      if (isDeepStrictEqual(next, current.status)) return toCluster(current);
      const entity = Object.assign(new ClusterEntity(), current, { status: next });
      entity.resourceVersion = await tx.nextResourceVersion();
      await tx.save(entity);
      const shown = toCluster(entity);
      await tx.appendChange('MODIFIED', entity.resourceVersion, entity.uid, entity.name, shown as unknown as Record<string, unknown>);
      return shown;
    });
  }

  private validateStatus(name: string, status: ClusterStatus): void {
    const causes: { reason: string; field: string; message: string }[] = [];
    const seen = new Set<string>();
    (status.conditions ?? []).forEach((c, i) => {
      if (!c.type) causes.push({ reason: 'FieldValueRequired', field: `status.conditions[${i}].type`, message: 'Required value' });
      else if (seen.has(c.type)) causes.push({ reason: 'FieldValueDuplicate', field: `status.conditions[${i}].type`, message: `Duplicate value: "${c.type}"` });
      seen.add(c.type);
      if (!CONDITION_STATUSES.includes(c.status)) {
        causes.push({ reason: 'FieldValueNotSupported', field: `status.conditions[${i}].status`, message: 'supported values: "True", "False", "Unknown"' });
      }
    });
    if (status.nodeCount !== undefined && (!Number.isInteger(status.nodeCount) || status.nodeCount < 0)) {
      causes.push({ reason: 'FieldValueInvalid', field: 'status.nodeCount', message: 'must be a non-negative whole number' });
    }
    if (causes.length > 0) throw ClusterErrors.invalid(name, causes);
  }

  /** Decrypted credentials, for internal callers only (the gRPC edge checks the internal token). */
  async credentials(name: string): Promise<{ cluster: Cluster; credentials: ClusterCredentials; keyId: string }> {
    const entity = await this.repo.findByName(name);
    if (!entity) throw ClusterErrors.notFound(name);
    const rows = await this.repo.credentials(entity.uid);
    const credentials: ClusterCredentials = {};
    let keyId = '';
    for (const row of rows) {
      credentials[row.kind] = this.secrets.decrypt({ keyId: row.keyId, ciphertext: row.ciphertext }, credentialAad(entity.uid, row.kind));
      keyId = row.keyId;
    }
    return { cluster: toCluster(entity), credentials, keyId };
  }

  private async writeCredentials(tx: ClustersTransaction, uid: string, credentials: ClusterCredentials): Promise<void> {
    for (const kind of ['kubeconfig', 'token'] as const) {
      const value = credentials[kind];
      if (value !== undefined) await tx.putCredential(uid, kind, this.secrets.encrypt(value, credentialAad(uid, kind)));
    }
  }
}
