import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { REF } from '../openapi/schemas';
import { AuditQueryService } from './audit-query.service';

/** /apis/audit.flotilla.io/v1alpha1/events: the audit log (audit.k8s.io/v1 Events, newest first). */
@ApiTags('audit')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'No or wrong bearer token', schema: REF.Status })
@Controller('apis/audit.flotilla.io/v1alpha1/events')
export class AuditController {
  constructor(private readonly audit: AuditQueryService) {}

  @Get()
  @ApiOperation({ summary: 'Query the audit log: who did what, where, with which outcome (never bodies or credentials)' })
  @ApiQuery({ name: 'user', required: false, description: 'Flotilla user name, e.g. alice or oidc:alice@example.com' })
  @ApiQuery({ name: 'cluster', required: false, description: 'member cluster the request was proxied to' })
  @ApiQuery({ name: 'verb', required: false, example: 'delete' })
  @ApiQuery({ name: 'since', required: false, description: 'RFC 3339 time, inclusive', example: '2026-01-31T12:00:00Z' })
  @ApiQuery({ name: 'until', required: false, description: 'RFC 3339 time, inclusive' })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: '1 to 1000 (default 500)' })
  @ApiQuery({ name: 'continue', required: false, description: 'metadata.continue of the previous page' })
  @ApiResponse({ status: 200, description: 'EventList (audit.flotilla.io/v1alpha1) of audit.k8s.io/v1 Events' })
  @ApiResponse({ status: 400, description: 'A bad parameter, named in the Status', schema: REF.Status })
  list(@Query() query: Record<string, unknown>) {
    return this.audit.list(query);
  }
}
