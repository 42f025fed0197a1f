import { Metadata } from '@grpc/grpc-js';
import { ClientGrpcProxy } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import type { ImportJob } from '@flotilla/domain';
import { PROTO_LOADER_OPTIONS, fromGrpcError, importJobFromProto, importJobToProto, importsV1, protoPath, protoRoot } from '@flotilla/contracts';
import { REQUEST_ID_HEADER, currentRequestId } from '@flotilla/observability';

export const IMPORT_JOBS_CLIENT = Symbol('flotilla.import-jobs-client');

/** The registry's import job records (flotilla.registry.imports.v1) for provider-import and the gateway. */
export class ImportJobsClient {
  private readonly proxy: ClientGrpcProxy;
  private readonly service: importsV1.ImportJobServiceClient;

  constructor(
    target: string,
    private readonly internalToken?: string,
    private readonly deadlineMs = 10_000,
  ) {
    this.proxy = new ClientGrpcProxy({
      url: target,
      package: importsV1.PROTOBUF_PACKAGE,
      protoPath: protoPath(importsV1.PROTO_FILE),
      loader: { ...PROTO_LOADER_OPTIONS, includeDirs: [protoRoot()] },
    } as ConstructorParameters<typeof ClientGrpcProxy>[0]);
    this.service = this.proxy.getService<importsV1.ImportJobServiceClient>(importsV1.IMPORTJOB_SERVICE_NAME);
  }

  private metadata(): Metadata {
    const m = new Metadata();
    const requestId = currentRequestId();
    if (requestId) m.set(REQUEST_ID_HEADER, requestId);
    if (this.internalToken) m.set('authorization', `Bearer ${this.internalToken}`);
    return m;
  }

  async report(job: ImportJob): Promise<ImportJob> {
    try {
      const out = await lastValueFrom(
        (this.service.reportImportJob as unknown as (r: importsV1.ReportImportJobRequest, m: Metadata, o: { deadline: number }) => ReturnType<importsV1.ImportJobServiceClient['reportImportJob']>).call(
          this.service,
          { job: importJobToProto(job) },
          this.metadata(),
          { deadline: Date.now() + this.deadlineMs },
        ),
      );
      return importJobFromProto(out);
    } catch (error) {
      throw fromGrpcError(error, 'registry');
    }
  }

  async list(clusterName: string): Promise<ImportJob[]> {
    try {
      const out = await lastValueFrom(
        (this.service.listImportJobs as unknown as (r: importsV1.ListImportJobsRequest, m: Metadata, o: { deadline: number }) => ReturnType<importsV1.ImportJobServiceClient['listImportJobs']>).call(
          this.service,
          { clusterName },
          this.metadata(),
          { deadline: Date.now() + this.deadlineMs },
        ),
      );
      return (out.items ?? []).map(importJobFromProto);
    } catch (error) {
      throw fromGrpcError(error, 'registry');
    }
  }

  close(): void {
    this.proxy.close();
  }
}
