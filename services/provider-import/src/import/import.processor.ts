import { Injectable } from '@nestjs/common';
import { ClusterImportPayload, JOBS, JobContext, JobHandler, JobName } from '@flotilla/queue';
import { ImportService } from './import.service';

/** cluster.import: maps the job to ImportService. */
@Injectable()
export class ImportProcessor implements JobHandler<ClusterImportPayload> {
  readonly definition = JOBS[JobName.ClusterImport];
  constructor(private readonly imports: ImportService) {}
  handle(payload: ClusterImportPayload, context: JobContext): Promise<void> {
    return this.imports.run(payload, context);
  }
}
