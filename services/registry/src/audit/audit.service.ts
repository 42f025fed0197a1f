import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import type { AuditEvent, AuditQuery } from '@flotilla/clients';
import { CONFIG } from '@flotilla/service-kit';
import { RegistryConfig } from '../config';
import { PruneScheduler } from '../infrastructure/prune-scheduler';
import { auditFilter, auditRows, encodeAuditContinue } from './audit-rules';
import { AuditRepository } from './audit.repository';

/** Expired events dropped per statement: a long backlog goes in bounded steps, not one huge delete. */
const PRUNE_BATCH = 5000;

/** Audit events: the gateway appends batches and queries them; events older than the retention go on the prune timer. */
@Injectable()
export class AuditService implements OnModuleInit {
  constructor(
    private readonly repo: AuditRepository,
    private readonly prune: PruneScheduler,
    @Inject(CONFIG) private readonly config: RegistryConfig,
  ) {}

  onModuleInit(): void {
    this.prune.register('audit-events', () => this.pruneExpired());
  }

  /** Stores the batch (all or nothing); returns how many were new. */
  append(events: unknown[]): Promise<number> {
    return this.repo.append(auditRows(events));
  }

  async query(query: AuditQuery): Promise<{ items: AuditEvent[]; continue?: string }> {
    const filter = auditFilter(query);
    const rows = await this.repo.query(filter);
    const items = rows.slice(0, filter.limit);
    const last = items[items.length - 1];
    return rows.length > filter.limit && last ? { items: items.map((r) => r.event), continue: encodeAuditContinue(last.cursor) } : { items: items.map((r) => r.event) };
  }

  /** Deletes every event older than FLOTILLA_AUDIT_RETENTION_DAYS, a batch at a time. */
  async pruneExpired(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.repo.pruneOlderThan(this.config.FLOTILLA_AUDIT_RETENTION_DAYS, PRUNE_BATCH);
      total += n;
      if (n < PRUNE_BATCH) return total;
    }
  }
}
