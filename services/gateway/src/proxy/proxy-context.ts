import type { IncomingMessage } from 'node:http';
import type { Principal } from '@flotilla/domain';
import type { Logger } from '@flotilla/observability';
import type { MemberConnections } from './member-connections';
import type { Admitted, ProxyAdmission } from './proxy-admission';
import type { ProxyMetrics } from './proxy-metrics';
import type { ProxyIdentity } from './proxy-ports';

export interface ProxySettings {
  /** Largest request body forwarded (FLOTILLA_PROXY_MAX_BODY_BYTES): larger gets 413. */
  maxBodyBytes: number;
  /**
   * Idle bound of ordinary requests (FLOTILLA_PROXY_IDLE_TIMEOUT_MS): a caller sending its body, or
   * a member sending its answer, silent this long is cut off (slow-loris). Watches, follows and
   * upgrades have none once they are established.
   */
  idleTimeoutMs: number;
}

/** Everything the HTTP handler and the upgrade listener share. */
export interface ProxyContext {
  admission: ProxyAdmission;
  connections: MemberConnections;
  metrics: ProxyMetrics;
  identity: ProxyIdentity;
  settings: ProxySettings;
  logger?: Logger;
  /** Ends every open stream and session at shutdown (drain). */
  open: Set<() => void>;
}

/** Records one proxied request or session in the audit log (when there is one), off the request path. */
export function auditProxied(
  ctx: ProxyContext,
  req: IncomingMessage,
  e: { principal: Principal | undefined; admitted?: Admitted; cluster?: string; verb: string; code: number; startedAt: Date; requestId?: string },
): void {
  const audit = ctx.identity.audit;
  // Unauthenticated attempts are not recorded: anyone could fill the log with them.
  if (!audit || !e.principal) return;
  const a = e.admitted?.attrs;
  const objectRef =
    a && a.resourceRequest
      ? {
          resource: a.resource,
          ...(a.namespace ? { namespace: a.namespace } : {}),
          ...(a.name ? { name: a.name } : {}),
          ...(a.group ? { apiGroup: a.group } : {}),
          ...(a.subresource ? { subresource: a.subresource } : {}),
        }
      : undefined;
  const userAgent = req.headers['user-agent'];
  audit
    .record({
      principal: e.principal,
      verb: e.verb,
      requestURI: req.url ?? '',
      ...(e.cluster ? { cluster: e.cluster } : {}),
      ...(objectRef ? { objectRef } : {}),
      code: e.code,
      startedAt: e.startedAt,
      ...(req.socket.remoteAddress ? { sourceIP: req.socket.remoteAddress } : {}),
      ...(userAgent ? { userAgent: userAgent.slice(0, 256) } : {}),
      ...(e.requestId ? { requestId: e.requestId } : {}),
    })
    .catch((error: unknown) => ctx.logger?.warn({ err: error instanceof Error ? error.message : String(error) }, 'proxy audit record failed'));
}
