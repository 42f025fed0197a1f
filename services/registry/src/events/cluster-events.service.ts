import { Injectable } from '@nestjs/common';
import {
  CLUSTER_EVENTS_PER_CLUSTER,
  CLUSTER_EVENT_RETENTION_DAYS,
  ClusterErrors,
  ClusterEvent,
  ErrorCause,
  ErrorReason,
  FlotillaError,
  dns1123LabelErrors,
} from '@flotilla/domain';
import { UnitOfWork } from '@flotilla/persistence';
import { ClusterEventsRepository } from './cluster-events.repository';

const STATUSES = ['True', 'False', 'Unknown'];
/** A version this registry hands out: a decimal sequence (compared as BigInt, never as a number). */
const VERSION = /^[0-9]{1,19}$/;
/** Expired events dropped per recorded event. */
const EXPIRED_BATCH = 500;

/** Cluster events: recorded by health-probe, listed through the gateway; retention is bounded. */
@Injectable()
export class ClusterEventsService {
  constructor(
    private readonly repo: ClusterEventsRepository,
    private readonly uow: UnitOfWork,
  ) {}

  async record(e: ClusterEvent): Promise<ClusterEvent> {
    const causes: ErrorCause[] = [];
    const bad = (field: string, message: string) => causes.push({ reason: 'FieldValueInvalid', field, message });
    if (dns1123LabelErrors(e.clusterName).length > 0) bad('clusterName', 'must be a cluster name');
    if (!e.name.startsWith(`${e.clusterName}.`) || e.name.length > 253) bad('name', 'must be <clusterName>.<suffix>');
    if (!e.reason || !/^[A-Za-z][A-Za-z0-9]{0,127}$/.test(e.reason)) bad('reason', 'must be a CamelCase word');
    if (!e.conditionType) bad('conditionType', 'Required value');
    if (!STATUSES.includes(e.fromStatus)) bad('fromStatus', 'supported values: "True", "False", "Unknown"');
    if (!STATUSES.includes(e.toStatus)) bad('toStatus', 'supported values: "True", "False", "Unknown"');
    if (Number.isNaN(Date.parse(e.eventTime))) bad('eventTime', 'must be an RFC 3339 time');
    if (e.message.length > 1024) bad('message', 'must be at most 1024 characters');
    if (causes.length > 0) throw new FlotillaError(ErrorReason.Invalid, `ClusterEvent "${e.name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`, { causes });
    // Stored once (by name); then that cluster's oldest beyond the limit and a batch of expired ones go.
    return this.uow.run(async (tx) => {
      await this.repo.insert(tx, e);
      await this.repo.pruneCluster(tx, e.clusterName, CLUSTER_EVENTS_PER_CLUSTER);
      await this.repo.pruneExpired(tx, CLUSTER_EVENT_RETENTION_DAYS, EXPIRED_BATCH);
      // Pruned at once when older than the retention age: nothing is kept, say what was asked.
      return (await this.repo.findByName(tx, e.name)) ?? e;
    });
  }

  /**
   * A cluster's events, newest first, and the version a watch starts from: read first, so an
   * event recorded meanwhile may be both listed and watched, never neither.
   */
  list(clusterName: string, limit?: number): Promise<{ items: ClusterEvent[]; version: string }> {
    const n = limit && limit > 0 ? Math.min(limit, 500) : 500;
    return this.uow.run(async (tx) => {
      const version = await this.repo.head(tx);
      return { items: clusterName === '' ? [] : await this.repo.listForCluster(tx, clusterName, n), version };
    });
  }

  /** The newest sequence with everything up to it committed. */
  head(): Promise<string> {
    return this.uow.run((tx) => this.repo.head(tx));
  }

  /**
   * Where a watch from `since` starts: '' is now; a version older than what retention keeps is
   * Gone (events after it may have been pruned: list again), one ahead of the store a Timeout
   * (as kube-apiserver answers "Too large resource version").
   */
  async watchStart(since: string): Promise<bigint> {
    if (since === '') return BigInt(await this.head());
    if (!VERSION.test(since)) {
      throw new FlotillaError(ErrorReason.BadRequest, `since: Invalid value: "${since.slice(0, 40)}": pass a version this server returned`, {
        causes: [{ reason: 'FieldValueInvalid', field: 'since', message: 'not issued by this server' }],
      });
    }
    const from = BigInt(since);
    const { head, oldest } = await this.uow.run(async (tx) => ({ head: BigInt(await this.repo.head(tx)), oldest: await this.repo.oldest(tx) }));
    if (from > head) throw new FlotillaError(ErrorReason.Timeout, `Too large resource version: ${since}, current: ${head}`, { retryAfterSeconds: 1 });
    // Every event after `from` must still be stored: the first kept follows it directly, or nothing after it was ever kept.
    const firstKept = oldest !== undefined ? BigInt(oldest) : head + 1n;
    if (from + 1n < firstKept) throw ClusterErrors.watchExpired(since);
    return from;
  }

  /** Events after `position`, oldest first, of every cluster. */
  after(position: bigint, limit: number): Promise<ClusterEvent[]> {
    return this.repo.after(position.toString(), limit);
  }
}
