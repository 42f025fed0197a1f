import { Injectable } from '@nestjs/common';
import { CLUSTER_EVENTS_PER_CLUSTER, CLUSTER_EVENT_RETENTION_DAYS, ClusterEvent, ErrorCause, ErrorReason, FlotillaError, dns1123LabelErrors } from '@flotilla/domain';
import { UnitOfWork } from '@flotilla/persistence';
import { ClusterEventsRepository } from './cluster-events.repository';

const STATUSES = ['True', 'False', 'Unknown'];
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

  list(clusterName: string, limit?: number): Promise<ClusterEvent[]> {
    const n = limit && limit > 0 ? Math.min(limit, 500) : 500;
    return this.repo.listForCluster(clusterName, n);
  }
}
