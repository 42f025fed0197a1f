import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { auditV1 } from '@flotilla/contracts';
import { parseJsonField } from '../objects/object-json';
import { MAX_AUDIT_EVENT_BYTES } from './audit-rules';
import { AuditService } from './audit.service';

const S = auditV1.AUDIT_SERVICE_NAME;

/** flotilla.registry.audit.v1.AuditService: maps messages in and out (events travel as bounded JSON text). */
@Controller()
export class AuditGrpcController implements auditV1.AuditServiceController {
  constructor(private readonly audit: AuditService) {}

  @GrpcMethod(S, 'AppendAuditEvents')
  async appendAuditEvents(r: auditV1.AppendAuditEventsRequest): Promise<auditV1.AppendAuditEventsResponse> {
    const events = (r.eventsJson ?? []).map((text, i) => parseJsonField(text, `events[${i}]`, MAX_AUDIT_EVENT_BYTES));
    return { stored: await this.audit.append(events) };
  }

  @GrpcMethod(S, 'QueryAuditEvents')
  async queryAuditEvents(r: auditV1.QueryAuditEventsRequest): Promise<auditV1.AuditEventList> {
    const page = await this.audit.query({
      user: r.user || undefined,
      cluster: r.cluster || undefined,
      verb: r.verb || undefined,
      since: r.since || undefined,
      until: r.until || undefined,
      limit: r.limit || undefined,
      continue: r.continue || undefined,
    });
    return { itemsJson: page.items.map((e) => JSON.stringify(e)), continue: page.continue ?? '' };
  }
}
