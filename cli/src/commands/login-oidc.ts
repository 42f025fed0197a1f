import { writeLogin, type Login } from '../config';
import { printAs, type Ctx } from '../context';
import { CliError, ExitCode } from '../errors';
import { Api } from '../http';
import { parseDuration } from '../jobs';
import { deviceLogin } from '../oidc/device-flow';
import { discover, issuerUrl } from '../oidc/issuer';
import { tokenExpiry } from '../oidc/refresh';

export const DEFAULT_OIDC_SCOPES = 'openid,offline_access';

export interface OidcLoginOptions {
  oidcIssuer?: string;
  oidcClientId?: string;
  oidcScopes: string;
  timeout: string;
  output?: string;
}

/** Proves the server answers and takes the token (a SelfSubjectAccessReview); true when the caller may list clusters. */
export async function mayListClusters(login: Login): Promise<boolean> {
  const review = await new Api(login, 15_000).json<{ status?: { allowed?: boolean } }>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { group: 'cluster.kubesphere.io', resource: 'clusters', verb: 'list' } } },
  });
  return review.status?.allowed === true;
}

function scopesOf(value: string): string[] {
  const scopes = [...new Set(value.split(/[\s,]+/).filter(Boolean))];
  const bad = scopes.find((s) => !/^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/.test(s));
  if (bad !== undefined || scopes.length === 0 || scopes.length > 32) throw new CliError(ExitCode.Usage, `--oidc-scopes: "${value}" is not a list of scopes`, ['write them as openid,offline_access,email']);
  if (!scopes.includes('openid')) throw new CliError(ExitCode.Usage, '--oidc-scopes must include openid: Flotilla takes the OIDC ID token', ['e.g. --oidc-scopes openid,offline_access,email']);
  return scopes;
}

/**
 * `flotilla login --oidc-issuer URL --oidc-client-id ID`: the device flow against the issuer, the
 * ID token checked against the server, then the ID token and refresh token stored (0600).
 */
export async function oidcLogin(ctx: Ctx, base: Pick<Login, 'server' | 'certificateAuthority'>, opts: OidcLoginOptions): Promise<void> {
  if (!opts.oidcIssuer || !opts.oidcClientId) {
    throw new CliError(ExitCode.Usage, `OIDC login needs ${opts.oidcIssuer ? '--oidc-client-id' : '--oidc-issuer'}`, [
      'e.g. flotilla login --server https://flotilla.example.com --oidc-issuer https://login.example.com --oidc-client-id flotilla-cli',
    ]);
  }
  const issuer = issuerUrl(opts.oidcIssuer);
  const clientId = opts.oidcClientId.trim();
  if (!/^[\x21-\x7e]{1,256}$/.test(clientId)) throw new CliError(ExitCode.Usage, '--oidc-client-id: a client id is one word of printable characters');
  const scopes = scopesOf(opts.oidcScopes);
  const timeoutMs = parseDuration(opts.timeout);
  const discovery = await discover(issuer);
  const tokens = await deviceLogin({ discovery, clientId, scopes, timeoutMs, tell: (text) => ctx.io.err(text) });
  const login: Login = { ...base, token: tokens.idToken, oidc: { issuer, clientId, scopes, ...(tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {}) } };
  let canList: boolean;
  try {
    canList = await mayListClusters(login);
  } catch (error) {
    if (error instanceof CliError && error.status?.code === 401) {
      throw new CliError(ExitCode.Refused, `${base.server} refused the OIDC ID token: ${error.status.message ?? 'Unauthorized'}`, [
        `the gateway must trust this issuer and client: FLOTILLA_OIDC_ISSUER_URL=${issuer} and FLOTILLA_OIDC_AUDIENCE=${clientId} (nothing was stored)`,
      ]);
    }
    throw error;
  }
  const path = writeLogin(login, ctx.env);
  const exp = tokenExpiry(tokens.idToken);
  const result = { server: base.server, configPath: path, issuer, clientId, canListClusters: canList, refreshable: tokens.refreshToken !== undefined };
  if (printAs(ctx, opts.output, result)) return;
  ctx.io.out(`Logged in to ${base.server} through ${issuer} (ID token accepted; you ${canList ? 'may' : 'may not'} list clusters). Saved in ${path}.\n`);
  if (!tokens.refreshToken) {
    ctx.io.err(`note: the provider gave no refresh token: log in again when the ID token expires${exp ? ` (${new Date(exp * 1000).toISOString()})` : ''}; offline_access in --oidc-scopes asks for one\n`);
  }
}
