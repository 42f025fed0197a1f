import type { IncomingMessage } from 'node:http';
import type { MemberRole, Principal } from '@flotilla/domain';

/**
 * What the proxy needs of the gateway's identity pieces (auth/, authz/, audit/), as narrow
 * interfaces: the Authenticator, Authorizer and AuditRecorder satisfy them structurally, and the
 * proxy's tests pass small fakes.
 */
export interface ProxyAuthenticator {
  /** Throws FlotillaError(Unauthorized) for a missing, bad, expired or revoked credential. */
  authenticate(req: IncomingMessage): Promise<Principal>;
}

export interface ProxyAuthorizer {
  fleet(p: Principal, a: { verb: string; group: string; resource: string; subresource?: string; name?: string }): { allowed: boolean; reason: string };
  memberRole(p: Principal, cluster: string): MemberRole | undefined;
  memberAllows(role: MemberRole, a: { verb: string; group: string; resource: string; subresource?: string }): boolean;
}

/** One proxied request or upgrade, as the audit log records it (AuditRecorder.record's argument). */
export interface ProxyAuditEvent {
  principal?: Principal;
  verb: string;
  requestURI: string;
  cluster?: string;
  objectRef?: { resource?: string; namespace?: string; name?: string; apiGroup?: string; subresource?: string };
  code: number;
  startedAt: Date;
  sourceIP?: string;
  userAgent?: string;
  requestId?: string;
}

export interface ProxyAudit {
  record(e: ProxyAuditEvent): Promise<void>;
}

export interface ProxyIdentity {
  authenticator: ProxyAuthenticator;
  authorizer: ProxyAuthorizer;
  /** Optional: the proxy runs (and its tests run) without an audit log. */
  audit?: ProxyAudit;
}
