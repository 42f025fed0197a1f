import { Injectable, OnModuleInit } from '@nestjs/common';
import { ErrorCause, ErrorReason, FlotillaError } from '@flotilla/domain';
import { ClustersRepository } from '../clusters/store/clusters.repository';
import { PruneScheduler } from '../infrastructure/prune-scheduler';
import { ProbeTimesRepository } from './probe-times.repository';

const MAX_PROBE_TIMES = 10_000;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export interface ProbeTimeEntry {
  name: string;
  time: string;
}

/** Last probe times, recorded in batches by the health probe (internal). */
@Injectable()
export class ProbeTimesService implements OnModuleInit {
  constructor(
    private readonly repo: ProbeTimesRepository,
    private readonly clusters: ClustersRepository,
    private readonly prune: PruneScheduler,
  ) {}

  onModuleInit(): void {
    this.prune.register('probe-times', () => this.pruneGone());
  }

  /** Keeps the newest time per cluster; names of clusters that do not exist are skipped. Returns how many were recorded. */
  async record(entries: ProbeTimeEntry[]): Promise<number> {
    if (entries.length > MAX_PROBE_TIMES) {
      throw new FlotillaError(ErrorReason.BadRequest, `at most ${MAX_PROBE_TIMES} probe times per call; send them in batches`, {
        causes: [{ reason: 'FieldValueTooLong', field: 'entries', message: `must have at most ${MAX_PROBE_TIMES} items` }],
      });
    }
    const causes: ErrorCause[] = [];
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
    const existing = await this.clusters.existingNames([...latest.keys()]);
    for (const name of [...latest.keys()]) if (!existing.has(name)) latest.delete(name);
    await this.repo.record(latest);
    return latest.size;
  }

  /** Drops probe times of clusters that no longer exist (removed through a path that could not forget them). */
  async pruneGone(): Promise<number> {
    const names = await this.repo.names();
    const existing = await this.clusters.existingNames(names);
    const gone = names.filter((n) => !existing.has(n));
    await this.repo.forget(...gone);
    return gone.length;
  }
}
