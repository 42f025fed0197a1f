import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OutboxEntity } from './outbox.entity';
import { REGISTRY_DATA_SOURCE } from '../clusters/clusters.repository';

/** Database access for the job outbox. */
@Injectable()
export class OutboxRepository {
  constructor(@Inject(REGISTRY_DATA_SOURCE) private readonly db: DataSource) {}

  /**
   * Claims pending jobs for one relay pass. Rows stay locked (SKIP LOCKED) until `work`
   * finishes, so replicas never relay the same job at once.
   */
  async withPending(limit: number, work: (jobs: OutboxEntity[], done: (id: string) => Promise<void>, failed: (id: string, error: string) => Promise<void>) => Promise<void>): Promise<void> {
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
        jobs,
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

  async pruneDispatched(olderThanSeconds: number): Promise<void> {
    await this.db.query(`DELETE FROM job_outbox WHERE dispatched_at < now() - make_interval(secs => $1)`, [olderThanSeconds]);
  }
}
