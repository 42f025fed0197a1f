import { loginLockPath, readLogin, writeLogin, type Login } from '../config';
import { CliError, ExitCode } from '../errors';
import { tokenSet } from './device-flow';
import { discover, oauthError, oauthRequest } from './issuer';
import { withLock } from './lock';

/** An OIDC ID token is refreshed when it expires within this many seconds. */
export const REFRESH_WINDOW_S = 60;

/**
 * The `exp` of a JWT, read without verifying it: the CLI uses it only to decide when to refresh
 * (the gateway verifies the token). Undefined when the token is not a JWT with a numeric exp.
 */
export function tokenExpiry(token: string): number | undefined {
  const part = token.split('.')[1];
  if (!part || part.length > 16_384) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined;
  } catch {
    return undefined;
  }
}

const needsRefresh = (login: Login, now = Date.now()) => {
  if (!login.oidc) return false;
  const exp = tokenExpiry(login.token);
  return exp === undefined || exp - now / 1000 <= REFRESH_WINDOW_S;
};

const loginAgain = (login: Login) =>
  `run \`flotilla login --server ${login.server} --oidc-issuer ${login.oidc!.issuer} --oidc-client-id ${login.oidc!.clientId}${login.oidc!.flow === 'browser' ? ' --browser' : ''}\` again`;

/** Trades the refresh token for a new ID token (and refresh token, when the provider rotates them). */
async function refresh(login: Login): Promise<Login> {
  const oidc = login.oidc!;
  if (!oidc.refreshToken) {
    throw new CliError(ExitCode.Refused, 'your OIDC ID token expires within a minute and the login holds no refresh token', [
      `${loginAgain(login)}, with offline_access in --oidc-scopes so that it can be refreshed`,
    ]);
  }
  const { tokenEndpoint } = await discover(oidc.issuer);
  const answer = await oauthRequest(tokenEndpoint, { grant_type: 'refresh_token', refresh_token: oidc.refreshToken, client_id: oidc.clientId });
  if (answer.status !== 200) {
    const { error, text } = oauthError(answer);
    if (answer.status >= 500) throw new CliError(ExitCode.Unreachable, `the OIDC issuer failed to refresh your login (${text})`, ['retry shortly']);
    const why = error === 'invalid_grant' ? 'your OIDC session has ended: the identity provider refused the refresh token' : 'the identity provider refused to refresh your login';
    throw new CliError(ExitCode.Refused, `${why} (${text})`, [loginAgain(login)]);
  }
  const tokens = tokenSet(answer, oidc.scopes);
  return { ...login, token: tokens.idToken, oidc: { ...oidc, refreshToken: tokens.refreshToken ?? oidc.refreshToken } };
}

/**
 * The stored login with an OIDC ID token that is good for more than a minute: refreshed (and
 * saved) when it expires sooner. One process refreshes at a time; the others wait for it and read
 * what it saved. A Flotilla-token login is returned as it is.
 */
export async function freshLogin(env: NodeJS.ProcessEnv, login: Login = readLogin(env)): Promise<Login> {
  if (!needsRefresh(login)) return login;
  return withLock(loginLockPath(env), async () => {
    const current = readLogin(env);
    if (!needsRefresh(current)) return current;
    const next = await refresh(current);
    writeLogin(next, env);
    return next;
  });
}
