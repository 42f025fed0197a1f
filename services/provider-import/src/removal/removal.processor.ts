import { Injectable } from '@nestjs/common';
import { ClusterRemovePayload, JOBS, JobContext, JobHandler, JobName } from '@flotilla/queue';
import { RemovalService } from './removal.service';

/** cluster.remove: maps the job to RemovalService. */
@Injectable()
export class RemovalProcessor implements JobHandler<ClusterRemovePayload> {
  readonly definition = JOBS[JobName.ClusterRemove];
  constructor(private readonly removals: RemovalService) {}
  handle(payload: ClusterRemovePayload, context: JobContext): Promise<void> {
    return this.removals.run(payload, context);
  }
}
