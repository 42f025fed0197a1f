import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Transaction, transactionManager } from '@flotilla/persistence';
import { REGISTRY_DATA_SOURCE } from '../infrastructure/tokens';
import { OutboxEntity } from './outbox.entity';

/** A job waiting in the outbox to be relayed. */
export interface PendingJob {
  id: string;
  jobName: string;
  payload: Record<string, unknown>;
}

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
    await em.query(`SELECT pg_notify('flotilla_job_outbox', '')`);
  }

  /**
   * Claims pending jobs for one relay pass. Rows stay locked (SKIP LOCKED) until `work`
   * finishes, so replicas never relay the same job at once.
   */
  async withPending(limit: number, work: (jobs: PendingJob[], done: (id: string) => Promise<void>, failed: (id: string, error: string) => Promise<void>) => Promise<void>): Promise<void> {
    await this.db.transaction(async (em) => {
      const jobs = await em
        .getRepository(OutboxEntity)
        .createQueryBuilder('o')
        .where('o.dispatched_at IS NULL')
        .orderBy('o.id', 'ASC')
        .take(limit)
        .setLock('pessimistic_write')
        .setOnLocked('skip_locked')
        .getMany();
      if (jobs.length === 0) return;
      await work(
        jobs.map((j) => ({ id: j.id, jobName: j.jobName, payload: j.payload })),
        async (id) => {
          await em.getRepository(OutboxEntity).update({ id }, { dispatchedAt: new Date(), attempts: () => 'attempts + 1', lastError: null });
        },
        async (id, error) => {
          await em.getRepository(OutboxEntity).update({ id }, { attempts: () => 'attempts + 1', lastError: error.slice(0, 500) });
        },
      );
    });
  }

  async pendingCount(): Promise<number> {
    return this.db.getRepository(OutboxEntity).createQueryBuilder('o').where('o.dispatched_at IS NULL').getCount();
  }

  /** Drops relayed jobs older than `olderThanSeconds`. */
  async pruneDispatched(olderThanSeconds: number): Promise<void> {
    await this.db.query(`DELETE FROM job_outbox WHERE dispatched_at < now() - make_interval(secs => $1)`, [olderThanSeconds]);
  }
}
