import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Transaction, transactionManager } from '@flotilla/persistence';
import { NotifyChannel } from '../infrastructure/change-listener';
import { REGISTRY_DATA_SOURCE } from '../infrastructure/tokens';
import { OutboxEntity } from './outbox.entity';

/** A job in the outbox (waiting to be relayed, or relayed). */
export interface PendingJob {
  id: string;
  jobName: string;
  payload: Record<string, unknown>;
  /** BullMQ's job id: the row's unique idempotency key, so a re-send is a no-op while the job exists. */
  idempotencyKey: string;
}

const toPending = (j: OutboxEntity): PendingJob => ({ id: j.id, jobName: j.jobName, payload: j.payload, idempotencyKey: j.idempotencyKey });

/** Database access for the job outbox. */
@Injectable()
export class OutboxRepository {
  constructor(@Inject(REGISTRY_DATA_SOURCE) private readonly db: DataSource) {}

  /**
   * Adds a job in the caller's transaction, so it is relayed only if the write that causes it
   * commits. A second job with the same idempotency key is ignored.
   */
  async add(tx: Transaction, jobName: string, payload: Record<string, unknown>, idempotencyKey: string): Promise<void> {
    const em = transactionManager(tx);
    await em.query(
      `INSERT INTO job_outbox (job_name, payload, idempotency_key) VALUES ($1, $2::jsonb, $3) ON CONFLICT (idempotency_key) DO NOTHING`,
      [jobName, JSON.stringify(payload), idempotencyKey],
    );
    await em.query("SELECT pg_notify($1, '')", [NotifyChannel.jobOutbox]);
  }

  /**
   * Jobs not yet relayed, oldest first. A plain read, outside any transaction: the relay calls
   * Redis between this read and markDispatched, and a transaction held open across a Redis call
   * pinned a Postgres connection (and row locks) for as long as Redis took to answer, or for ever
   * (issue 13). Two replicas may read the same row; both enqueue it under its idempotency key and
   * BullMQ keeps one job.
   */
  async pending(limit: number): Promise<PendingJob[]> {
    const rows = await this.db.getRepository(OutboxEntity).createQueryBuilder('o').where('o.dispatched_at IS NULL').orderBy('o.id', 'ASC').take(limit).getMany();
    return rows.map(toPending);
  }

  async markDispatched(id: string): Promise<void> {
    await this.db.getRepository(OutboxEntity).update({ id }, { dispatchedAt: new Date(), attempts: () => 'attempts + 1', lastError: null });
  }

  async markFailed(id: string, error: string): Promise<void> {
    await this.db.getRepository(OutboxEntity).update({ id }, { attempts: () => 'attempts + 1', lastError: error.slice(0, 500) });
  }

  /** Jobs relayed within the last `windowSeconds`, by id after `afterId` (a page of the verify pass). */
  async dispatchedWithin(windowSeconds: number, afterId: string, limit: number): Promise<PendingJob[]> {
    const rows = await this.db
      .getRepository(OutboxEntity)
      .createQueryBuilder('o')
      .where('o.dispatched_at IS NOT NULL')
      .andWhere('o.dispatched_at > now() - make_interval(secs => :window)', { window: windowSeconds })
      .andWhere('o.id > :afterId', { afterId })
      .orderBy('o.id', 'ASC')
      .take(limit)
      .getMany();
    return rows.map(toPending);
  }

  /** A relayed job sent again because Redis no longer held it. */
  async markResent(id: string): Promise<void> {
    await this.db.getRepository(OutboxEntity).update({ id }, { dispatchedAt: new Date(), attempts: () => 'attempts + 1', lastError: 're-sent: the queue no longer held the job' });
  }

  async pendingCount(): Promise<number> {
    return this.db.getRepository(OutboxEntity).createQueryBuilder('o').where('o.dispatched_at IS NULL').getCount();
  }

  /** Drops relayed jobs older than `olderThanSeconds`. */
  async pruneDispatched(olderThanSeconds: number): Promise<void> {
    await this.db.query(`DELETE FROM job_outbox WHERE dispatched_at < now() - make_interval(secs => $1)`, [olderThanSeconds]);
  }
}
