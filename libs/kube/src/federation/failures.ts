import { MemberUnavailableError, type MemberResponse } from '../member/member-client';
import { cleanText } from '../net/member-text';
import { GateRefusedError } from './request-gate';
import { type ApplyFailureReason, MemberCallError, type MemberObjectRef } from './types';

export interface Failure {
  reason: ApplyFailureReason;
  message: string;
  retryable: boolean;
}

const MESSAGE_LIMIT = 512;

function statusMessage(body: Record<string, unknown>): string {
  return typeof body.message === 'string' ? cleanText(body.message, MESSAGE_LIMIT) : '';
}

const said = (text: string) => (text ? `the member said: "${text}"` : 'the member gave no reason');

/** "patch on deployments.apps" from kube-apiserver's 403 sentence, or the RBAC right an escalation lacks. */
export function missingRight(message: string, ref: MemberObjectRef): string | undefined {
  const m = /cannot (\S+) resource "([^"]+)" in API group "([^"]*)"/.exec(message);
  if (m) return `${m[1]} on ${m[2]}${m[3] ? `.${m[3]}` : ''}`;
  if (/attempting to grant RBAC permissions not currently held|not currently held/.test(message)) {
    const rbac = 'rbac.authorization.k8s.io';
    if (ref.kind === 'ClusterRole' || ref.kind === 'Role') return `escalate on ${ref.kind === 'Role' ? 'roles' : 'clusterroles'}.${rbac}`;
    if (ref.kind === 'ClusterRoleBinding' || ref.kind === 'RoleBinding') return `bind on clusterroles.${rbac} (or roles.${rbac})`;
  }
  return undefined;
}

function describe(ref: MemberObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

/** The reason of a member's non-success answer to a request about `ref` (what: "apply", "read", "delete"). */
export function failureOfResponse(cluster: string, what: string, ref: MemberObjectRef, res: MemberResponse): Failure {
  const text = statusMessage(res.body);
  const details = (res.body.details ?? {}) as Record<string, unknown>;
  const on = `${what} of ${describe(ref)} in ${cluster}`;
  switch (true) {
    case res.status === 404: {
      const ns = /^namespaces "([^"]*)" not found/.exec(text);
      if (ns || (details.kind === 'namespaces' && !details.group)) {
        return { reason: 'WaitingForNamespace', message: `${on} waits for namespace ${ns?.[1] ?? ref.namespace ?? ''} (${said(text)})`, retryable: true };
      }
      return { reason: 'WaitingForCRD', message: `${on}: ${ref.apiVersion} ${ref.kind} is not served by the member (${said(text)})`, retryable: true };
    }
    case res.status === 403: {
      const right = missingRight(text, ref);
      return { reason: 'InsufficientRights', message: `${on}: Flotilla's credentials lack ${right ?? 'a right'} (${said(text)})`, retryable: true };
    }
    case res.status === 401:
      return { reason: 'ClusterNotReady', message: `${on}: the member refused Flotilla's credentials (401); they may have been rotated or revoked`, retryable: true };
    case res.status === 409 || res.status === 422 || res.status === 400:
      return { reason: 'ApplyFailed', message: `${on} was refused (${res.status}): ${said(text)}`, retryable: false };
    default:
      return { reason: 'ApplyFailed', message: `${on} failed (${res.status}): ${said(text)}`, retryable: true };
  }
}

/** The reason of a call that got no usable answer (connection, timeout, closed client, bad answer). */
export function failureOfError(cluster: string, what: string, ref: MemberObjectRef, error: unknown): Failure {
  const on = `${what} of ${describe(ref)} in ${cluster}`;
  if (error instanceof MemberCallError) return { reason: error.reason, message: error.message, retryable: error.retryable };
  if (error instanceof MemberUnavailableError) {
    if (error.failure === 'answer') return { reason: 'ApplyFailed', message: `${on}: ${error.message}`, retryable: true };
    return { reason: 'ClusterNotReady', message: `${on}: ${error.message}`, retryable: true };
  }
  if (error instanceof GateRefusedError) return { reason: error.why === 'closed' ? 'ClusterNotReady' : 'ApplyFailed', message: `${on}: ${error.message}`, retryable: true };
  const status = (error as { status?: unknown }).status;
  if (typeof status === 'number') return failureOfResponse(cluster, what, ref, { status, body: ((error as { body?: unknown }).body ?? {}) as Record<string, unknown> });
  return { reason: 'ApplyFailed', message: `${on}: ${cleanText(error instanceof Error ? error.message : String(error), MESSAGE_LIMIT)}`, retryable: true };
}
