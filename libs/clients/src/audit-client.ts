import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { auditV1 } from '@flotilla/contracts';
import { GrpcServiceClient } from './grpc-client';
import type { AuditEvent, AuditQuery, AuditStore } from './object-store';
import { answerJson, objectJson } from './objects-client';

/** What the registry accepts per event and per batch; checked here too, before anything is sent. */
export const MAX_AUDIT_EVENT_JSON_BYTES = 1024 * 1024;
export const MAX_AUDIT_BATCH = 1000;

/**
 * The registry's audit store (flotilla.registry.audit.v1.AuditService) as an AuditStore: events
 * go as JSON text; errors come back as the FlotillaError the registry threw. Only the gateway may call it.
 */
export class AuditClient implements AuditStore {
  private readonly grpc: GrpcServiceClient<auditV1.AuditServiceClient>;

  /** `internalToken` defaults to the process's own identity (configureInternalCalls). */
  constructor(target: string, internalToken?: string, deadlineMs = 10_000) {
    this.grpc = new GrpcServiceClient(
      target,
      { package: auditV1.PROTOBUF_PACKAGE, protoFile: auditV1.PROTO_FILE, service: auditV1.AUDIT_SERVICE_NAME },
      { internalToken, deadlineMs, upstream: 'registry' },
    );
  }

  /** Stores the batch in one transaction; an auditID stored before is skipped, so a retried batch is harmless. */
  async append(events: AuditEvent[]): Promise<void> {
    await this.appendCounting(events);
  }

  /** As append, returning how many events were new. */
  async appendCounting(events: AuditEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    if (events.length > MAX_AUDIT_BATCH) {
      const message = `at most ${MAX_AUDIT_BATCH} events per batch: split it`;
      throw new FlotillaError(ErrorReason.Invalid, `events: ${message}`, { causes: [{ reason: 'FieldValueTooLong', field: 'events', message }] });
    }
    const eventsJson = events.map((e, i) => objectJson(e, `events[${i}]`, MAX_AUDIT_EVENT_JSON_BYTES));
    return (await this.grpc.unary(this.grpc.service.appendAuditEvents, { eventsJson })).stored ?? 0;
  }

  async query(query: AuditQuery): Promise<{ items: AuditEvent[]; continue?: string }> {
    const out = await this.grpc.unary(this.grpc.service.queryAuditEvents, {
      user: query.user ?? '',
      cluster: query.cluster ?? '',
      verb: query.verb ?? '',
      since: query.since ?? '',
      until: query.until ?? '',
      limit: query.limit ?? 0,
      continue: query.continue ?? '',
    });
    const items = (out.itemsJson ?? []).map((text) => answerJson(text, 'an audit event') as AuditEvent);
    return out.continue ? { items, continue: out.continue } : { items };
  }

  close(): void {
    this.grpc.close();
  }
}
