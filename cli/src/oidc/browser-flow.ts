import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError, ExitCode } from '../errors';
import { tokenSet, type TokenSet } from './device-flow';
import { oauthError, oauthRequest, type Discovery } from './issuer';

/** The path of the loopback redirect URI: http://127.0.0.1:PORT/callback. */
export const CALLBACK_PATH = '/callback';
/** Bounds of a request to the loopback listener: its request line and headers, and its time. */
const MAX_HEADER_BYTES = 16 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_CONNECTIONS = 16;
/** Longest code and state read from the callback (providers' codes are far shorter). */
const MAX_PARAM_CHARS = 4096;
/** Signature algorithms an ID token may use: asymmetric ones only (never `none` or a shared secret). */
const ID_TOKEN_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** Clock skew tolerated on the ID token's exp, iat and nbf (as the gateway does). */
const CLOCK_TOLERANCE_S = 30;

export interface BrowserFlowOptions {
  discovery: Discovery;
  clientId: string;
  scopes: string[];
  /** The longest wait for the sign-in. */
  timeoutMs: number;
  /** The loopback port of the redirect URI; 0 picks a free one. */
  listenPort: number;
  /** Starts the system browser on the URL (xdg-open, open); otherwise only prints it. */
  open: boolean;
  /** Where the URL and the progress are shown (stderr: stdout carries the result). */
  tell: (text: string) => void;
  /** How to log in again, for the hints. */
  loginAgain: string;
}

const random = () => randomBytes(32).toString('base64url');
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** Printable, one line, bounded: what the provider said, fit for the terminal and the page. */
const clean = (value: string, max = 300) => value.replace(/[^\x20-\x7e]/g, '?').slice(0, max);

/** A page for the browser tab: no scripts, no referrer (the code is in its URL), never cached. */
function answer(res: ServerResponse, status: number, title: string, text: string): void {
  const body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p></body></html>`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'",
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    connection: 'close',
  });
  res.end(body);
}

/** Listens on 127.0.0.1 only; a port in use or not allowed names the fix. */
async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: NodeJS.ErrnoException) => {
    const code = error.code ?? 'error';
    throw new CliError(ExitCode.Refused, `cannot listen on 127.0.0.1:${port} for the sign-in's redirect (${code})`, [
      code === 'EADDRINUSE' ? `another program uses port ${port}: stop it, or give another --listen-port (or none: a free port is picked)` : 'give another --listen-port (1024-65535), or none',
    ]);
  });
  return (server.address() as AddressInfo).port;
}

/** Starts the system's browser on the URL: a fixed command, the URL one argument, no shell. */
function openBrowser(url: string, tell: (text: string) => void): void {
  const [command, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['rundll32', ['url.dll,FileProtocolHandler', url]] : ['xdg-open', [url]];
  const failed = () => tell(`(could not start a browser with ${command}: open the URL above yourself)\n`);
  try {
    const child = spawn(command, args as string[], { stdio: 'ignore', detached: true, shell: false });
    child.once('error', failed);
    child.unref();
  } catch {
    failed();
  }
}

/** True when a browser can likely be started here: macOS, Windows, or a desktop session on Linux. */
export function canOpenBrowser(env: NodeJS.ProcessEnv): boolean {
  if (process.platform === 'darwin' || process.platform === 'win32') return true;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

const S256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

/** The provider's refusal of the sign-in (RFC 6749 §4.1.2.1), with the fix. */
function refusal(error: string, description: string | undefined, o: BrowserFlowOptions): CliError {
  const text = `${clean(error, 100)}${description ? `: ${clean(description)}` : ''}`;
  if (error === 'access_denied') return new CliError(ExitCode.Refused, `access denied: the sign-in was refused at the identity provider (${text})`, [`${o.loginAgain} and approve the request`]);
  const fix =
    error === 'unauthorized_client' || error === 'invalid_client'
      ? `check --oidc-client-id: the provider must know "${o.clientId}" as a public (native) client allowed the authorization code grant with PKCE and the redirect URI http://127.0.0.1${CALLBACK_PATH} (any port, or the --listen-port one)`
      : error === 'invalid_scope'
        ? 'check --oidc-scopes: the provider refused one of them'
        : error === 'server_error' || error === 'temporarily_unavailable'
          ? `retry shortly: ${o.loginAgain}`
          : 'check --oidc-issuer, --oidc-client-id and --oidc-scopes';
  const code = error === 'server_error' || error === 'temporarily_unavailable' ? ExitCode.Unreachable : ExitCode.Refused;
  return new CliError(code, `the identity provider refused the sign-in (${text})`, [fix]);
}

interface Callback {
  code: string;
  res: ServerResponse;
}

/**
 * Waits for the one redirect of this sign-in on the loopback listener. A request whose `state` is
 * not this login's (another tab, a stale or forged redirect) is refused with 400 and the wait goes
 * on; the provider's error, or the timeout, ends it.
 */
function awaitCallback(server: Server, state: string, o: BrowserFlowOptions): Promise<Callback> {
  return new Promise<Callback>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(
        new CliError(ExitCode.Unreachable, `no sign-in within --timeout (${Math.round(o.timeoutMs / 1000)} s)`, [
          `${o.loginAgain}, and sign in sooner or give a longer --timeout`,
          `if the browser showed an error about the redirect URI, the provider must allow http://127.0.0.1${CALLBACK_PATH} (any port, or the --listen-port one) for "${o.clientId}"`,
        ]),
      );
    }, Math.min(o.timeoutMs, 2 ** 31 - 1));
    const finish = (fn: () => void) => {
      done = true;
      clearTimeout(timer);
      fn();
    };
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      req.resume(); // a GET has no body; anything sent is drained, never kept
      if (done) return answer(res, 410, 'Sign-in already handled', 'This flotilla login has already received its answer. You can close this tab.');
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://127.0.0.1');
      } catch {
        return answer(res, 400, 'Bad request', 'This is not a sign-in redirect.');
      }
      if (url.pathname !== CALLBACK_PATH) return answer(res, 404, 'Not found', 'This is flotilla login waiting for the sign-in redirect.');
      if (req.method !== 'GET') return answer(res, 405, 'Method not allowed', 'The sign-in redirect is a GET.');
      const param = (name: string) => {
        const values = url.searchParams.getAll(name);
        return values.length === 1 && values[0]!.length <= MAX_PARAM_CHARS ? values[0] : undefined;
      };
      if (param('state') !== state) {
        o.tell('refused a request to the redirect URI whose state is not this login\'s (another tab, or a stale or forged redirect); still waiting\n');
        return answer(res, 400, 'Sign-in refused', 'This redirect is not for the running flotilla login (its state does not match). Start the sign-in from the URL the terminal shows.');
      }
      const iss = param('iss');
      if ((iss !== undefined || o.discovery.authorizationResponseIss) && iss !== o.discovery.issuer) {
        answer(res, 400, 'Sign-in refused', 'This redirect names another identity provider. Return to the terminal.');
        return finish(() =>
          reject(new CliError(ExitCode.Refused, `the sign-in's redirect names another issuer (${clean(iss ?? 'none', 200)}), not ${o.discovery.issuer}`, ['check --oidc-issuer', o.loginAgain])),
        );
      }
      const error = param('error');
      if (error !== undefined) {
        const failure = refusal(error, param('error_description'), o);
        answer(res, 400, 'Sign-in failed', `${failure.message}. Return to the terminal; you can close this tab.`);
        return finish(() => reject(failure));
      }
      const code = param('code');
      if (code === undefined || code === '') return answer(res, 400, 'Sign-in refused', 'This redirect carries no authorization code.');
      finish(() => resolve({ code, res }));
    });
  });
}

/** Verifies the ID token: signature (the issuer's JWKS), issuer, audience, expiry, and this login's nonce. */
async function verifyIdToken(idToken: string, o: BrowserFlowOptions, nonce: string): Promise<void> {
  const { discovery } = o;
  if (!discovery.jwksUri) throw new CliError(ExitCode.Refused, `the discovery document of ${discovery.issuer} has no usable jwks_uri: the ID token cannot be verified`, ['check --oidc-issuer']);
  const keys = await oauthRequest(discovery.jwksUri);
  if (keys.status !== 200 || !Array.isArray(keys.body.keys)) {
    throw new CliError(keys.status >= 500 ? ExitCode.Unreachable : ExitCode.Refused, `the OIDC issuer's signing keys (${discovery.jwksUri}) answered HTTP ${keys.status} without a key set`, ['check --oidc-issuer']);
  }
  // jose is an ES module: loaded only here, so that other commands (flotilla token) do not pay for it.
  const { createLocalJWKSet, jwtVerify, errors } = await import('jose');
  let nonceClaim: unknown;
  try {
    const { payload } = await jwtVerify(idToken, createLocalJWKSet(keys.body as unknown as Parameters<typeof createLocalJWKSet>[0]), {
      issuer: discovery.issuer,
      audience: o.clientId,
      algorithms: ID_TOKEN_ALGORITHMS,
      clockTolerance: CLOCK_TOLERANCE_S,
      requiredClaims: ['exp', 'iat', 'sub'],
    });
    nonceClaim = payload.nonce;
  } catch (error) {
    const why = error instanceof errors.JOSEError ? `${error.code}: ${clean(error.message, 200)}` : 'not a signed JWT';
    throw new CliError(ExitCode.Refused, `the ID token from the identity provider does not verify (${why})`, [
      'check --oidc-issuer and --oidc-client-id (the ID token\'s iss and aud) and this machine\'s clock',
    ]);
  }
  if (nonceClaim !== nonce) {
    throw new CliError(ExitCode.Refused, 'the ID token does not carry this login\'s nonce: it was not issued for this sign-in', [o.loginAgain]);
  }
}

/**
 * The OAuth 2.0 authorization code grant with PKCE (RFC 7636, S256) for native apps (RFC 8252):
 * a one-shot listener on 127.0.0.1 takes the redirect, whose `state` must be this login's; the
 * code is exchanged at the token endpoint with the verifier, and the ID token is verified
 * (signature, iss, aud, exp, nonce). The listener is closed after the answer or the timeout.
 */
export async function browserLogin(o: BrowserFlowOptions): Promise<TokenSet> {
  const { discovery } = o;
  if (!discovery.authorizationEndpoint) {
    throw new CliError(ExitCode.Refused, `the OIDC issuer ${discovery.issuer} does not offer a browser sign-in (no authorization_endpoint in its discovery document)`, [
      'use the device flow (--device) if the provider offers it',
    ]);
  }
  const [state, nonce, verifier] = [random(), random(), random()];
  const server = createServer({ maxHeaderSize: MAX_HEADER_BYTES, requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: REQUEST_TIMEOUT_MS, keepAliveTimeout: 1000 });
  server.maxConnections = MAX_CONNECTIONS;
  server.on('connection', (socket) => socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy()));
  // Responses not yet sent: the listener waits for them (at most 2 s) before it closes every socket.
  const pending = new Set<ServerResponse>();
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    pending.add(res);
    res.once('close', () => pending.delete(res));
  });
  try {
    const port = await listen(server, o.listenPort);
    const redirectUri = `http://127.0.0.1:${port}${CALLBACK_PATH}`;
    const url = new URL(discovery.authorizationEndpoint);
    const params = { response_type: 'code', client_id: o.clientId, redirect_uri: redirectUri, scope: o.scopes.join(' '), state, nonce, code_challenge: S256(verifier), code_challenge_method: 'S256' };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    // OpenID Connect Core §11: a refresh token (offline_access) is asked for with prompt=consent.
    if (o.scopes.includes('offline_access')) url.searchParams.set('prompt', 'consent');
    const callback = awaitCallback(server, state, o);
    o.tell(`To sign in, open this URL in a browser on this machine:\n  ${url.toString()}\n`);
    if (o.open) openBrowser(url.toString(), o.tell);
    o.tell(`Waiting for the sign-in's redirect to ${redirectUri} (at most ${Math.round(o.timeoutMs / 1000)} s)...\n`);
    const { code, res } = await callback;
    try {
      const tokens = await exchange(code, redirectUri, verifier, o);
      await verifyIdToken(tokens.idToken, o, nonce);
      answer(res, 200, 'Signed in', `flotilla is signed in through ${discovery.issuer}. You can close this tab and return to the terminal.`);
      return tokens;
    } catch (error) {
      const message = error instanceof CliError ? error.message : 'the sign-in failed';
      answer(res, 400, 'Sign-in failed', `${message}. Return to the terminal; you can close this tab.`);
      throw error;
    }
  } finally {
    // One shot: no new connections; the last page is sent (at most 2 s), then every socket is closed.
    server.close();
    const sent = [...pending].map((res) => new Promise((resolve) => res.once('close', resolve)));
    if (sent.length > 0) await Promise.race([Promise.all(sent), sleep(2000, undefined, { ref: false })]);
    server.closeAllConnections();
  }
}

/** Trades the code for the tokens (RFC 6749 §4.1.3, RFC 7636 §4.5): bounded in size and time by oauthRequest. */
async function exchange(code: string, redirectUri: string, verifier: string, o: BrowserFlowOptions): Promise<TokenSet> {
  const reply = await oauthRequest(o.discovery.tokenEndpoint, { grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: o.clientId, code_verifier: verifier });
  if (reply.status === 200) return tokenSet(reply, o.scopes);
  const { error, text } = oauthError(reply);
  if (reply.status >= 500) throw new CliError(ExitCode.Unreachable, `the identity provider failed to issue the tokens (${text})`, [`retry shortly: ${o.loginAgain}`]);
  const fix =
    error === 'invalid_client' || error === 'unauthorized_client'
      ? `check --oidc-client-id: "${o.clientId}" must be a public client (no secret) allowed the authorization code grant`
      : error === 'invalid_grant'
        ? `the code was refused (used, expired, or the PKCE verifier did not match): ${o.loginAgain}`
        : o.loginAgain;
  throw new CliError(ExitCode.Refused, `the identity provider refused to issue the tokens (${text})`, [fix]);
}
