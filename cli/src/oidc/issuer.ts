import { CliError, ExitCode } from '../errors';

/** Largest answer read from an identity provider (a discovery document is a few KiB). */
const MAX_ANSWER_BYTES = 1024 * 1024;
const TIMEOUT_MS = 15_000;

export interface Discovery {
  issuer: string;
  tokenEndpoint: string;
  deviceAuthorizationEndpoint?: string;
  /** Where a browser signs in (the authorization code flow). */
  authorizationEndpoint?: string;
  /** The issuer's signing keys, to verify an ID token. */
  jwksUri?: string;
  /** RFC 9207: the issuer names itself (`iss`) in its authorization responses. */
  authorizationResponseIss?: boolean;
}

/** An OAuth answer: its HTTP status and JSON body (an object; `error` on failures, RFC 6749 §5.2). */
export interface OAuthAnswer {
  status: number;
  body: Record<string, unknown>;
}

const loopback = (host: string) => host === '127.0.0.1' || host === 'localhost' || host === '[::1]';

/** The issuer URL as given: https, or http on this machine only (refresh tokens must not travel in the clear). */
export function issuerUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(ExitCode.Usage, `--oidc-issuer: "${value}" is not a URL`, ['give the issuer exactly as in its tokens\' iss, e.g. https://login.example.com/realms/main']);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback(url.hostname))) {
    throw new CliError(ExitCode.Usage, `--oidc-issuer: "${value}" must be an https:// URL (http only on 127.0.0.1 or localhost)`);
  }
  if (url.username || url.password || url.search || url.hash) throw new CliError(ExitCode.Usage, '--oidc-issuer: give only scheme, host, port and path (no user, query or fragment)');
  // Kept as given: it must equal the `iss` of the issuer's tokens, a trailing slash included.
  return value;
}

function unreachable(url: string, error: unknown): CliError {
  // fetch names the cause (ECONNREFUSED, ENOTFOUND, a TLS code, "bad port") in error.cause.
  const cause = (error as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }).cause;
  const name = (error as { name?: string }).name;
  const what = name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : (cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message ?? name ?? 'error').slice(0, 100);
  return new CliError(ExitCode.Unreachable, `cannot reach the OIDC issuer at ${new URL(url).origin} (${what})`, [
    'check --oidc-issuer and that the identity provider is up; a private CA: set NODE_EXTRA_CA_CERTS=ca.pem',
  ]);
}

/** Reads at most MAX_ANSWER_BYTES of the body, within the request's time limit. */
async function boundedText(response: Response, url: string): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_ANSWER_BYTES) {
      await reader.cancel();
      throw new CliError(ExitCode.Unreachable, `the OIDC issuer's answer from ${new URL(url).origin} is larger than 1 MiB`, ['check --oidc-issuer']);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** One request to the identity provider (a form POST when `form` is given): bounded in size and time. */
export async function oauthRequest(url: string, form?: Record<string, string>): Promise<OAuthAnswer> {
  let text: string;
  let status: number;
  try {
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      headers: { accept: 'application/json', 'user-agent': 'flotilla-cli', ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    status = response.status;
    text = await boundedText(response, url);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw unreachable(url, error);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    if (status >= 500) throw new CliError(ExitCode.Unreachable, `the OIDC issuer at ${new URL(url).origin} answered HTTP ${status}`, ['retry shortly']);
    throw new CliError(ExitCode.Refused, `the OIDC issuer at ${new URL(url).origin} answered HTTP ${status} without a JSON body`, ['check --oidc-issuer: it must be the issuer itself, not a page of it']);
  }
  return { status, body: body as Record<string, unknown> };
}

const endpoint = (doc: Record<string, unknown>, key: string, issuer: string): string | undefined => {
  const value = doc[key];
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value);
    // Tokens go only where the issuer's own transport goes: an https issuer never sends us to http.
    if (url.protocol === 'https:' || (url.protocol === 'http:' && new URL(issuer).protocol === 'http:')) return value;
  } catch {
    // not a URL: treated as missing
  }
  return undefined;
};

/** The issuer's discovery document (OpenID Connect Discovery 1.0), whose `issuer` must be the one given. */
export async function discover(issuer: string): Promise<Discovery> {
  const { status, body } = await oauthRequest(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
  if (status !== 200) {
    throw new CliError(status >= 500 ? ExitCode.Unreachable : ExitCode.Refused, `${issuer} has no OpenID discovery document (HTTP ${status} for /.well-known/openid-configuration)`, [
      'check --oidc-issuer: the issuer exactly as in its tokens\' iss',
    ]);
  }
  if (body.issuer !== issuer) {
    throw new CliError(ExitCode.Refused, `the discovery document of ${issuer} names another issuer (${String(body.issuer).slice(0, 200)})`, ['pass that issuer as --oidc-issuer, exactly as written there']);
  }
  const tokenEndpoint = endpoint(body, 'token_endpoint', issuer);
  if (!tokenEndpoint) throw new CliError(ExitCode.Refused, `the discovery document of ${issuer} has no usable token_endpoint`, ['check --oidc-issuer']);
  const deviceAuthorizationEndpoint = endpoint(body, 'device_authorization_endpoint', issuer);
  const authorizationEndpoint = endpoint(body, 'authorization_endpoint', issuer);
  const jwksUri = endpoint(body, 'jwks_uri', issuer);
  return {
    issuer,
    tokenEndpoint,
    ...(deviceAuthorizationEndpoint ? { deviceAuthorizationEndpoint } : {}),
    ...(authorizationEndpoint ? { authorizationEndpoint } : {}),
    ...(jwksUri ? { jwksUri } : {}),
    ...(body.authorization_response_iss_parameter_supported === true ? { authorizationResponseIss: true } : {}),
  };
}

/** The OAuth error of an answer (`error` and `error_description`), as one short line. */
export function oauthError(answer: OAuthAnswer): { error: string; text: string } {
  const error = typeof answer.body.error === 'string' ? answer.body.error.slice(0, 100) : `HTTP ${answer.status}`;
  const description = typeof answer.body.error_description === 'string' ? `: ${answer.body.error_description.slice(0, 300)}` : '';
  return { error, text: `${error}${description}` };
}
