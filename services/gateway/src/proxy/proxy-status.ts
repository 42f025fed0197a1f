import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorReason, FlotillaError } from '@flotilla/domain';
import { MemberUnavailableError } from '@flotilla/kube';
import { type KubeStatus, toKubeStatus } from '@flotilla/service-kit';

const GROUP = 'cluster.kubesphere.io';

/** The proxy's own Status for a code no domain reason maps to (502). */
function status(code: number, reason: string, message: string, name: string): KubeStatus {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, details: { name, group: GROUP, kind: 'clusters' }, code };
}

/**
 * The member refused Flotilla's own credentials (401). Never passed on as a 401: kubectl would
 * tell the user to log in again, but it is Flotilla's credential for the member that expired or
 * was revoked, and an operator rotates it.
 */
export function memberCredentialRejected(cluster: string): KubeStatus {
  return status(
    502,
    'BadGateway',
    `cluster "${cluster}" refused Flotilla's credential for it (401 Unauthorized): it expired or was revoked in the member. An operator rotates it with PUT /apis/cluster.kubesphere.io/v1alpha1/clusters/${cluster}/kubeconfig; your own login is fine`,
    cluster,
  );
}

/** A member answered with a redirect: never followed, never passed on (it could point the caller's credentials anywhere). */
export function memberRedirected(cluster: string, code: number): KubeStatus {
  return status(502, 'BadGateway', `cluster "${cluster}" answered with a redirect (${code}), which the Flotilla proxy neither follows nor passes on: its API server must answer directly`, cluster);
}

/** The caller stopped sending its request body (slow-loris): 408, and the connection is closed. */
export function requestBodyStalled(cluster: string, ms: number): KubeStatus {
  return status(408, ErrorReason.Timeout, `the request body stalled for ${ms} ms (FLOTILLA_PROXY_IDLE_TIMEOUT_MS): send it without pauses`, cluster);
}

/** The member could not be reached (or its address, TLS or stored connection was refused). */
export function memberUnreachable(cluster: string, error: unknown): KubeStatus {
  const why = error instanceof MemberUnavailableError || error instanceof FlotillaError ? error.message : 'the connection failed';
  if (error instanceof MemberUnavailableError && error.failure === 'timeout') {
    return status(504, ErrorReason.Timeout, `cluster "${cluster}" did not answer in time: ${why}`, cluster);
  }
  return { ...status(503, ErrorReason.ServiceUnavailable, `cluster "${cluster}" cannot be reached through the proxy: ${why}`, cluster), details: { name: cluster, group: GROUP, kind: 'clusters', retryAfterSeconds: 5 } };
}

/** Any error as a Status: FlotillaErrors keep their reason and code; anything else is a generic 500. */
export function statusOf(error: unknown): KubeStatus {
  if (typeof error === 'object' && error !== null && (error as KubeStatus).kind === 'Status') return error as KubeStatus;
  return toKubeStatus(error);
}

/** Answers an HTTP request with a Status; returns the code. */
export function sendStatus(res: ServerResponse, error: unknown): number {
  const s = statusOf(error);
  const body = JSON.stringify(s);
  if (res.headersSent) {
    res.destroy();
    return s.code;
  }
  const retry = s.details?.retryAfterSeconds;
  res.writeHead(s.code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(retry ? { 'retry-after': String(retry) } : {}) });
  res.end(body);
  return s.code;
}

/** Answers an upgrade request (a raw socket, no HTTP response object) with a Status, then closes. */
export function writeSocketStatus(socket: Duplex, error: unknown): number {
  const s = statusOf(error);
  const body = JSON.stringify(s);
  if (!socket.destroyed && socket.writable) {
    const retry = s.details?.retryAfterSeconds;
    socket.end(
      `HTTP/1.1 ${s.code} ${STATUS_CODES[s.code] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `${retry ? `Retry-After: ${retry}\r\n` : ''}Connection: close\r\n\r\n${body}`,
    );
  }
  return s.code;
}
