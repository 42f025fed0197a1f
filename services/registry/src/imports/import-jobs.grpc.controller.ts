import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { importJobFromProto, importJobToProto, importsV1 } from '@flotilla/contracts';
import { ImportJobsService } from './import-jobs.service';

const S = importsV1.IMPORTJOB_SERVICE_NAME;

/** flotilla.registry.imports.v1.ImportJobService: maps messages in and out. */
@Controller()
export class ImportJobsGrpcController implements importsV1.ImportJobServiceController {
  constructor(private readonly jobs: ImportJobsService) {}

  @GrpcMethod(S, 'ReportImportJob')
  async reportImportJob(r: importsV1.ReportImportJobRequest): Promise<importsV1.ImportJob> {
    return importJobToProto(await this.jobs.report(importJobFromProto(r.job ?? {})));
  }

  @GrpcMethod(S, 'ListImportJobs')
  async listImportJobs(r: importsV1.ListImportJobsRequest): Promise<importsV1.ImportJobList> {
    const items = await this.jobs.list(r.clusterName ?? '');
    return { resourceVersion: items.map((j) => j.metadata.resourceVersion ?? '').join('.'), items: items.map(importJobToProto) };
  }
}
