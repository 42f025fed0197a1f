import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { AuditEvent } from '@flotilla/clients';
import { REGISTRY_DATA_SOURCE } from '../infrastructure/tokens';
import type { AuditCursor, AuditFilter, AuditRow } from './audit-rules';

/** The timestamp in the continue token keeps Postgres' microseconds (a JS Date would drop them and skip or repeat events). */
const TS_TEXT = `to_char(stage_timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** The audit_events table: the only code that touches it. */
@Injectable()
export class AuditRepository {
  constructor(@Inject(REGISTRY_DATA_SOURCE) private readonly db: DataSource) {}

  /** Stores a batch in one statement (so one transaction); an auditID already stored is skipped. Returns how many were new. */
  async append(rows: AuditRow[]): Promise<number> {
    if (rows.length === 0) return 0;
    const result = (await this.db.query(
      `INSERT INTO audit_events (audit_id, stage_timestamp, username, verb, cluster, code, event)
       SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::int[], $7::jsonb[])
       ON CONFLICT (audit_id) DO NOTHING RETURNING audit_id`,
      [
        rows.map((r) => r.auditId),
        rows.map((r) => r.stageTimestamp),
        rows.map((r) => r.username),
        rows.map((r) => r.verb),
        rows.map((r) => r.cluster),
        rows.map((r) => r.code),
        rows.map((r) => JSON.stringify(r.event)),
      ],
    )) as unknown[];
    return result.length;
  }

  /** Newest first; `limit + 1` rows so the caller knows whether more follow. */
  async query(filter: AuditFilter): Promise<{ event: AuditEvent; cursor: AuditCursor }[]> {
    const params: unknown[] = [];
    const where: string[] = [];
    const add = (sql: (p: string) => string, value: unknown) => {
      params.push(value);
      where.push(sql(`$${params.length}`));
    };
    if (filter.user !== undefined) add((p) => `username = ${p}`, filter.user);
    if (filter.cluster !== undefined) add((p) => `cluster = ${p}`, filter.cluster);
    if (filter.verb !== undefined) add((p) => `verb = ${p}`, filter.verb);
    if (filter.since !== undefined) add((p) => `stage_timestamp >= ${p}::timestamptz`, filter.since);
    if (filter.until !== undefined) add((p) => `stage_timestamp < ${p}::timestamptz`, filter.until);
    if (filter.after) {
      params.push(filter.after.ts, filter.after.id);
      where.push(`(stage_timestamp, audit_id) < ($${params.length - 1}::timestamptz, $${params.length})`);
    }
    params.push(filter.limit + 1);
    const rows = (await this.db.query(
      `SELECT event, audit_id, ${TS_TEXT} AS ts FROM audit_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY stage_timestamp DESC, audit_id DESC LIMIT $${params.length}`,
      params,
    )) as { event: AuditEvent; audit_id: string; ts: string }[];
    return rows.map((r) => ({ event: r.event, cursor: { ts: r.ts, id: r.audit_id } }));
  }

  /** Drops up to `batch` events older than the retention; returns how many went. */
  async pruneOlderThan(retentionDays: number, batch: number): Promise<number> {
    const result = (await this.db.query(
      `DELETE FROM audit_events WHERE audit_id IN (SELECT audit_id FROM audit_events WHERE stage_timestamp < now() - make_interval(days => $1) LIMIT $2)`,
      [retentionDays, batch],
    )) as [unknown, number];
    return result[1] ?? 0;
  }
}
