import { Inject, Injectable } from '@nestjs/common';
import { AUDIT_STORE, type AuditStore } from '@flotilla/clients';
import { AuditEventList, auditEventList, parseAuditQuery } from './audit-query';

/** The audit log, as stored by the registry: newest first, filtered, paged with continue tokens. */
@Injectable()
export class AuditQueryService {
  constructor(@Inject(AUDIT_STORE) private readonly store: AuditStore) {}

  async list(query: Record<string, unknown>): Promise<AuditEventList> {
    return auditEventList(await this.store.query(parseAuditQuery(query)));
  }
}
