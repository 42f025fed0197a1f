import { Module } from '@nestjs/common';
import { ImportJobsGrpcController } from './import-jobs.grpc.controller';
import { ImportJobsRepository } from './import-jobs.repository';
import { ImportJobsService } from './import-jobs.service';

/** Import and removal job records: reported by provider-import (internal), listed through the gateway. */
@Module({
  controllers: [ImportJobsGrpcController],
  providers: [ImportJobsRepository, ImportJobsService],
})
export class ImportJobsModule {}
