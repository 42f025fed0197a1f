import { randomUUID } from 'node:crypto';
import type { AuditEvent } from '@flotilla/clients';
import type { Principal } from '@flotilla/domain';
import type { ObjectRef } from './request-attributes';

/** What a caller of AuditRecorder.record says about one finished request. Never a body. */
export interface AuditRecord {
  principal?: Principal;
  verb: string;
  /** Path and query as received; credentials in the query are removed before anything is kept. */
  requestURI: string;
  /** Set for requests proxied to a member: the cluster's name. */
  cluster?: string;
  objectRef?: ObjectRef;
  code: number;
  startedAt: Date;
  sourceIP?: string;
  userAgent?: string;
  /** The X-Request-Id (possibly the client's own): kept in an annotation, for correlation with logs. */
  requestId?: string;
  /** The client went away before the response was complete. */
  aborted?: boolean;
}

export const CLUSTER_ANNOTATION = 'flotilla.io/cluster';
export const LATENCY_ANNOTATION = 'flotilla.io/latency-ms';
export const ABORTED_ANNOTATION = 'flotilla.io/aborted';
export const REQUEST_ID_ANNOTATION = 'flotilla.io/request-id';
export const TOKEN_ID_EXTRA = 'flotilla.io/token-id';

/** Longest requestURI and userAgent kept: a record is metadata, not a copy of whatever a client sends. */
const MAX_URI = 4096;
const MAX_USER_AGENT = 512;

/**
 * Query parameters that may carry a credential. kubectl never sends one in a URL, but browsers
 * and WebSocket clients (which cannot set headers) do (`access_token`, `token`), as do OAuth
 * redirects (`code`, `id_token`); none of them is ever written to the audit log.
 */
const CREDENTIAL_PARAM = /token|secret|passw|api[-_]?key|auth|credential|signature|^code$|^sig$/i;

/**
 * Kubernetes MicroTime (RFC 3339 with microseconds), as the API server writes audit timestamps:
 * with milliseconds only, events of one busy millisecond would tie and page in random order.
 */
export function microTime(epochMicros: bigint): string {
  const ms = Number(epochMicros / 1000n);
  const micros = String(epochMicros % 1_000_000n).padStart(6, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${micros}Z`;
}

/** Microseconds since the epoch, from the monotonic high-resolution clock anchored at process start. */
export const nowMicros = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000));

function truncate(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max)}...(truncated)` : value;
}

/**
 * The requestURI with every credential-like query parameter removed (the rest of the query is kept
 * as sent). Parameters are split by hand, not through URLSearchParams, so that what is kept is
 * byte for byte what the client sent.
 */
export function redactRequestURI(uri: string): string {
  const q = uri.indexOf('?');
  if (q < 0) return truncate(uri, MAX_URI);
  const path = uri.slice(0, q);
  const kept = uri
    .slice(q + 1)
    .split('&')
    .filter((pair) => {
      if (pair === '') return false;
      const rawName = pair.split('=', 1)[0]!;
      let name: string;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        return false; // undecodable: cannot tell what it is, so it is not kept
      }
      return !CREDENTIAL_PARAM.test(name);
    });
  return truncate(kept.length > 0 ? `${path}?${kept.join('&')}` : path, MAX_URI);
}

/**
 * One audit.k8s.io/v1 Event at level Metadata, stage ResponseComplete: who, what, the outcome and
 * from where. Bodies are never part of it (Flotilla records no level above Metadata).
 */
export function buildAuditEvent(record: AuditRecord, nowUs: bigint = nowMicros()): AuditEvent {
  const startedUs = BigInt(record.startedAt.getTime()) * 1000n;
  const principal = record.principal;
  const user: AuditEvent['user'] = principal
    ? { username: principal.user, groups: [...principal.groups] }
    : { username: 'system:anonymous', groups: ['system:unauthenticated'] };
  if (principal?.tokenId) user.extra = { [TOKEN_ID_EXTRA]: [principal.tokenId] };
  const annotations: Record<string, string> = {
    [LATENCY_ANNOTATION]: String(nowUs > startedUs ? (nowUs - startedUs) / 1000n : 0n),
  };
  if (record.cluster) annotations[CLUSTER_ANNOTATION] = record.cluster;
  if (record.aborted) annotations[ABORTED_ANNOTATION] = 'true';
  if (record.requestId) annotations[REQUEST_ID_ANNOTATION] = record.requestId;
  const event: AuditEvent = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    // Never the request id: a client may choose that (X-Request-Id), and the registry skips an
    // auditID it has seen (so a retried batch is harmless), which would let a client hide a
    // request behind an earlier one's id. The request id is kept as an annotation instead.
    auditID: randomUUID(),
    stage: 'ResponseComplete',
    requestURI: redactRequestURI(record.requestURI),
    verb: record.verb,
    user,
    sourceIPs: record.sourceIP ? [record.sourceIP] : [],
    responseStatus: { metadata: {}, code: record.code },
    requestReceivedTimestamp: microTime(startedUs),
    stageTimestamp: microTime(nowUs),
    annotations,
  };
  if (record.userAgent) event.userAgent = truncate(record.userAgent, MAX_USER_AGENT);
  if (record.objectRef) event.objectRef = definedOnly(record.objectRef);
  return event;
}

function definedOnly(ref: ObjectRef): ObjectRef {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(ref)) if (value !== undefined) out[key] = value;
  return out;
}
