import { Module } from '@nestjs/common';
import { AuditGrpcController } from './audit.grpc.controller';
import { AuditRepository } from './audit.repository';
import { AuditService } from './audit.service';

/** The audit store (issue 14): the gateway appends and queries; retention by FLOTILLA_AUDIT_RETENTION_DAYS. */
@Module({
  controllers: [AuditGrpcController],
  providers: [AuditRepository, AuditService],
})
export class AuditModule {}
