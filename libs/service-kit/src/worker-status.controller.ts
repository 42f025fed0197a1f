import { Controller, Inject, Optional } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { workerV1 } from '@flotilla/contracts';
import type { WorkerHost } from '@flotilla/queue';
import { RUNTIME, ServiceRuntime } from './runtime';

export const WORKER_HOST = Symbol('flotilla.worker-host');

/** flotilla.worker.v1.WorkerService: which queues this process consumes, and their counts. */
@Controller()
export class WorkerStatusController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Optional() @Inject(WORKER_HOST) private readonly host?: WorkerHost,
  ) {}

  @GrpcMethod(workerV1.WORKER_SERVICE_NAME, 'GetWorkerStatus')
  async getWorkerStatus(): Promise<workerV1.WorkerStatus> {
    const queues = this.host ? await this.host.status() : [];
    return {
      service: this.runtime.name,
      queues: queues.map((q) => ({
        queue: q.queue,
        jobs: q.jobs,
        running: q.running,
        concurrency: q.concurrency,
        waiting: String(q.counts.waiting),
        active: String(q.counts.active),
        completed: String(q.counts.completed),
        failed: String(q.counts.failed),
        delayed: String(q.counts.delayed),
      })),
    };
  }
}
