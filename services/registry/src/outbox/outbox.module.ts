import { Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { JobQueue } from '@flotilla/queue';
import { CONFIG, RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import { RegistryConfig } from '../config';
import { REDIS } from '../infrastructure/tokens';
import { JOB_QUEUE, OutboxRelayService } from './outbox-relay.service';
import { OutboxRepository } from './outbox.repository';

/**
 * The job outbox: jobs written in the transaction of the change that causes them (other
 * modules add them through OutboxRepository.add), then relayed to BullMQ.
 */
@Module({
  providers: [
    {
      provide: JOB_QUEUE,
      inject: [REDIS, CONFIG, RUNTIME],
      useFactory: (redis: Redis, config: RegistryConfig, runtime: ServiceRuntime) => {
        const queue = new JobQueue(redis, config.FLOTILLA_QUEUE_PREFIX);
        runtime.shutdown.onClose('job-queue', () => queue.close());
        return queue;
      },
    },
    OutboxRepository,
    OutboxRelayService,
  ],
  exports: [OutboxRepository],
})
export class OutboxModule {}
