import type { ImportJob } from '@flotilla/domain';
import { importJobFromProto, importJobToProto, importsV1 } from '@flotilla/contracts';
import { GrpcServiceClient } from './grpc-client';

export const IMPORT_JOBS_CLIENT = Symbol('flotilla.clients.import-jobs');

/** The registry's import job records (flotilla.registry.imports.v1) for provider-import and the gateway. */
export class ImportJobsClient {
  private readonly grpc: GrpcServiceClient<importsV1.ImportJobServiceClient>;

  constructor(target: string, internalToken?: string, deadlineMs = 10_000) {
    this.grpc = new GrpcServiceClient(
      target,
      { package: importsV1.PROTOBUF_PACKAGE, protoFile: importsV1.PROTO_FILE, service: importsV1.IMPORTJOB_SERVICE_NAME },
      { internalToken, deadlineMs, upstream: 'registry' },
    );
  }

  async report(job: ImportJob): Promise<ImportJob> {
    return importJobFromProto(await this.grpc.unary(this.grpc.service.reportImportJob, { job: importJobToProto(job) }, true));
  }

  async list(clusterName: string): Promise<ImportJob[]> {
    const out = await this.grpc.unary(this.grpc.service.listImportJobs, { clusterName }, true);
    return (out.items ?? []).map(importJobFromProto);
  }

  close(): void {
    this.grpc.close();
  }
}
