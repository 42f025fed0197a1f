import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Transaction, transactionManager } from '@flotilla/persistence';
import { REGISTRY_DATA_SOURCE } from '../infrastructure/tokens';

export type ReencryptionPhase = 'Running' | 'Succeeded' | 'Failed';

/** One re-encryption run as stored (counts of ciphertexts, never a credential). */
export interface ReencryptionRecord {
  name: string;
  targetKeyId: string;
  phase: ReencryptionPhase;
  rowsTotal: number;
  rowsDone: number;
  message: string;
  createdAt: Date;
  completedAt?: Date;
}

interface Row {
  name: string;
  target_key_id: string;
  phase: ReencryptionPhase;
  rows_total: string;
  rows_done: string;
  message: string;
  created_at: Date;
  completed_at: Date | null;
}

const toRecord = (r: Row): ReencryptionRecord => ({
  name: r.name,
  targetKeyId: r.target_key_id,
  phase: r.phase,
  rowsTotal: Number(r.rows_total),
  rowsDone: Number(r.rows_done),
  message: r.message,
  createdAt: r.created_at,
  ...(r.completed_at ? { completedAt: r.completed_at } : {}),
});

const COLUMNS = 'name, target_key_id, phase, rows_total, rows_done, message, created_at, completed_at';

/** The credential_reencryptions table: one row per run; at most one Running (a partial unique index). */
@Injectable()
export class ReencryptionsRepository {
  constructor(@Inject(REGISTRY_DATA_SOURCE) private readonly db: DataSource) {}

  /**
   * Inserts a Running run, or returns the one already running (from any replica): the partial
   * unique index makes a second concurrent insert a no-op.
   */
  async startOrGetRunning(tx: Transaction, name: string, targetKeyId: string, rowsTotal: number, now: Date): Promise<{ record: ReencryptionRecord; created: boolean }> {
    const em = transactionManager(tx);
    const inserted: Row[] = await em.query(
      `INSERT INTO credential_reencryptions (name, target_key_id, phase, rows_total, created_at, updated_at)
       VALUES ($1, $2, 'Running', $3, $4, $4)
       ON CONFLICT ((true)) WHERE phase = 'Running' DO NOTHING
       RETURNING ${COLUMNS}`,
      [name, targetKeyId, rowsTotal, now],
    );
    if (inserted[0]) return { record: toRecord(inserted[0]), created: true };
    const running: Row[] = await em.query(`SELECT ${COLUMNS} FROM credential_reencryptions WHERE phase = 'Running'`);
    return { record: toRecord(running[0]!), created: false };
  }

  async findRunning(): Promise<ReencryptionRecord | undefined> {
    const rows: Row[] = await this.db.query(`SELECT ${COLUMNS} FROM credential_reencryptions WHERE phase = 'Running'`);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async findByName(name: string): Promise<ReencryptionRecord | undefined> {
    const rows: Row[] = await this.db.query(`SELECT ${COLUMNS} FROM credential_reencryptions WHERE name = $1`, [name]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  /** Newest first. */
  async list(limit: number): Promise<ReencryptionRecord[]> {
    const rows: Row[] = await this.db.query(`SELECT ${COLUMNS} FROM credential_reencryptions ORDER BY created_at DESC, name DESC LIMIT $1`, [limit]);
    return rows.map(toRecord);
  }

  /** Counts `rows` more as done, in the transaction that re-encrypted them. */
  async addProgress(tx: Transaction, name: string, rows: number, now: Date): Promise<void> {
    await transactionManager(tx).query(`UPDATE credential_reencryptions SET rows_done = rows_done + $2, updated_at = $3 WHERE name = $1`, [name, rows, now]);
  }

  /** Ends a Running run (a run already ended stays as it is). */
  async finish(name: string, phase: Exclude<ReencryptionPhase, 'Running'>, message: string, now: Date): Promise<void> {
    await this.db.query(
      `UPDATE credential_reencryptions SET phase = $2, message = $3, completed_at = $4, updated_at = $4 WHERE name = $1 AND phase = 'Running'`,
      [name, phase, message, now],
    );
  }
}
