import { setTimeout as sleep } from 'node:timers/promises';
import { CliError, ExitCode } from '../errors';
import { oauthError, oauthRequest, type Discovery, type OAuthAnswer } from './issuer';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** RFC 8628 §3.2: the polling interval when the provider names none; §3.5: slow_down adds 5 s. */
const DEFAULT_INTERVAL_S = 5;
const SLOW_DOWN_S = 5;
const MAX_INTERVAL_S = 60;

export interface TokenSet {
  idToken: string;
  refreshToken?: string;
}

export interface DeviceFlowOptions {
  discovery: Discovery;
  clientId: string;
  scopes: string[];
  /** The longest wait for the approval (the device code's own lifetime may end it sooner). */
  timeoutMs: number;
  /** Where the verification URL and the code are shown (stderr: stdout carries the result). */
  tell: (text: string) => void;
}

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
const seconds = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fallback);
const loginAgain = 'run `flotilla login --server URL --oidc-issuer URL --oidc-client-id ID` again';

/** The ID token and refresh token of a successful token answer (RFC 6749 §5.1), or an error naming the fix. */
export function tokenSet(answer: OAuthAnswer, scopes: string[]): TokenSet {
  const idToken = str(answer.body.id_token);
  if (!idToken) {
    throw new CliError(ExitCode.Refused, 'the identity provider returned no ID token', [
      scopes.includes('openid') ? 'ask its administrator to issue ID tokens to this client' : 'add openid to --oidc-scopes',
    ]);
  }
  const refreshToken = str(answer.body.refresh_token);
  return { idToken, ...(refreshToken ? { refreshToken } : {}) };
}

/** Starts the device authorization (RFC 8628 §3.1), naming the fix of a refusal. */
async function authorize(o: DeviceFlowOptions): Promise<Record<string, unknown>> {
  const endpoint = o.discovery.deviceAuthorizationEndpoint;
  if (!endpoint) {
    throw new CliError(ExitCode.Refused, `the OIDC issuer ${o.discovery.issuer} does not offer the device flow (no device_authorization_endpoint in its discovery document)`, [
      'enable the device authorization grant at the identity provider for this client',
    ]);
  }
  const answer = await oauthRequest(endpoint, { client_id: o.clientId, scope: o.scopes.join(' ') });
  if (answer.status === 200 && str(answer.body.device_code) && str(answer.body.user_code) && str(answer.body.verification_uri)) return answer.body;
  const { error, text } = oauthError(answer);
  const fix =
    error === 'invalid_client' || error === 'unauthorized_client'
      ? `check --oidc-client-id: the provider must know "${o.clientId}" as a public client allowed the device flow`
      : error === 'invalid_scope'
        ? 'check --oidc-scopes: the provider refused one of them'
        : 'check --oidc-issuer and --oidc-client-id';
  throw new CliError(answer.status >= 500 ? ExitCode.Unreachable : ExitCode.Refused, `the identity provider refused to start the device login (${text})`, [fix]);
}

/**
 * The OAuth 2.0 Device Authorization Grant (RFC 8628): shows the verification URL and the code,
 * then polls the token endpoint at the provider's interval (slow_down adds 5 s) until the user
 * approves, denies, or the code expires; never longer than timeoutMs.
 */
export async function deviceLogin(o: DeviceFlowOptions): Promise<TokenSet> {
  const started = Date.now();
  const device = await authorize(o);
  const lifetimeMs = seconds(device.expires_in, 600) * 1000;
  const deadline = started + Math.min(lifetimeMs, o.timeoutMs);
  let interval = Math.min(seconds(device.interval, DEFAULT_INTERVAL_S), MAX_INTERVAL_S);
  const complete = str(device.verification_uri_complete);
  o.tell(`To sign in, open ${String(device.verification_uri)} and enter the code ${String(device.user_code)}\n`);
  if (complete) o.tell(`  (or open ${complete})\n`);
  o.tell(`Waiting for the approval (at most ${Math.round((deadline - started) / 1000)} s)...\n`);
  for (;;) {
    const wait = interval * 1000;
    if (Date.now() + wait > deadline) break;
    await sleep(wait);
    const answer = await oauthRequest(o.discovery.tokenEndpoint, { grant_type: DEVICE_CODE_GRANT, device_code: String(device.device_code), client_id: o.clientId });
    if (answer.status === 200) return tokenSet(answer, o.scopes);
    const { error, text } = oauthError(answer);
    if (error === 'authorization_pending') continue;
    if (error === 'slow_down') {
      interval = Math.min(interval + SLOW_DOWN_S, MAX_INTERVAL_S);
      continue;
    }
    if (error === 'access_denied') throw new CliError(ExitCode.Refused, `access denied: the sign-in was refused at the identity provider (${text})`, [`${loginAgain} and approve the request`]);
    if (error === 'expired_token') throw expired(lifetimeMs);
    if (answer.status >= 500) throw new CliError(ExitCode.Unreachable, `the identity provider failed while waiting for the approval (${text})`, [loginAgain]);
    throw new CliError(ExitCode.Refused, `the identity provider refused the device login (${text})`, ['check --oidc-client-id', loginAgain]);
  }
  if (lifetimeMs <= o.timeoutMs) throw expired(lifetimeMs);
  throw new CliError(ExitCode.Unreachable, `no approval within --timeout (${Math.round(o.timeoutMs / 1000)} s)`, [`${loginAgain}, and approve the code sooner or give a longer --timeout`]);
}

const expired = (lifetimeMs: number) =>
  new CliError(ExitCode.Refused, 'the device code expired before the sign-in was approved', [`${loginAgain} and approve the code within ${Math.round(lifetimeMs / 1000)} s`]);
