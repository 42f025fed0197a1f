import { writeLogin, type Login } from '../config';
import { printAs, type Ctx } from '../context';
import { CliError, ExitCode } from '../errors';
import { Api } from '../http';
import { parseDuration } from '../jobs';
import { browserLogin, canOpenBrowser } from '../oidc/browser-flow';
import { deviceLogin } from '../oidc/device-flow';
import { discover, issuerUrl, type Discovery } from '../oidc/issuer';
import { tokenExpiry } from '../oidc/refresh';

export const DEFAULT_OIDC_SCOPES = 'openid,offline_access';

export interface OidcLoginOptions {
  oidcIssuer?: string;
  oidcClientId?: string;
  oidcScopes: string;
  /** Unset: 10m for the device flow, 5m for the browser. */
  timeout?: string;
  output?: string;
  /** Force the authorization code flow in a browser (or the device flow); neither: see chooseFlow. */
  browser?: boolean;
  device?: boolean;
  listenPort?: string;
  /** --no-open: false. Unset: a browser is started when one can be (a desktop session). */
  open?: boolean;
}

export type OidcFlow = 'device' | 'browser';
const DEFAULT_TIMEOUT: Record<OidcFlow, string> = { device: '10m', browser: '5m' };

/**
 * The flow of an OIDC login: --browser or --device as asked (--listen-port implies --browser);
 * otherwise the device flow when the issuer offers it (it works over SSH and on machines without
 * a browser, and every run behaves the same), else the browser.
 */
export function chooseFlow(opts: Pick<OidcLoginOptions, 'browser' | 'device' | 'listenPort'>, discovery: Discovery): OidcFlow {
  if (opts.device) return 'device';
  if (opts.browser || opts.listenPort !== undefined) return 'browser';
  if (discovery.deviceAuthorizationEndpoint || !discovery.authorizationEndpoint) return 'device';
  return 'browser';
}

function listenPortOf(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw new CliError(ExitCode.Usage, `--listen-port: "${value}" is not a port`, ['give the port of the redirect URI registered at the provider, e.g. --listen-port 8000 for http://127.0.0.1:8000/callback']);
  }
  return Number(value);
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
 * `flotilla login --oidc-issuer URL --oidc-client-id ID [--browser|--device]`: the device flow or
 * the authorization code flow with PKCE in a browser against the issuer, the ID token checked
 * against the server, then the ID token and refresh token stored (0600).
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
  if (opts.browser && opts.device) throw new CliError(ExitCode.Usage, 'give either --browser or --device, not both');
  if (opts.device && (opts.listenPort !== undefined || opts.open === false)) throw new CliError(ExitCode.Usage, '--listen-port and --no-open go with --browser, not --device');
  const listenPort = listenPortOf(opts.listenPort);
  if (opts.timeout !== undefined) parseDuration(opts.timeout); // a bad --timeout is named before the issuer is asked
  const discovery = await discover(issuer);
  const flow = chooseFlow(opts, discovery);
  const timeoutMs = parseDuration(opts.timeout ?? DEFAULT_TIMEOUT[flow]);
  const tell = (text: string) => ctx.io.err(text);
  const loginAgain = `run \`flotilla login --server ${base.server} --oidc-issuer ${issuer} --oidc-client-id ${clientId}${flow === 'browser' ? ' --browser' : ''}\` again`;
  const tokens =
    flow === 'browser'
      ? await browserLogin({ discovery, clientId, scopes, timeoutMs, listenPort, open: opts.open !== false && canOpenBrowser(ctx.env), tell, loginAgain })
      : await deviceLogin({ discovery, clientId, scopes, timeoutMs, tell });
  const refreshToken = tokens.refreshToken ? { refreshToken: tokens.refreshToken } : {};
  const login: Login = { ...base, token: tokens.idToken, oidc: { issuer, clientId, scopes, ...refreshToken, ...(flow === 'browser' ? { flow } : {}) } };
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
  const result = { server: base.server, configPath: path, issuer, clientId, flow, canListClusters: canList, refreshable: tokens.refreshToken !== undefined };
  if (printAs(ctx, opts.output, result)) return;
  ctx.io.out(`Logged in to ${base.server} through ${issuer} (ID token accepted; you ${canList ? 'may' : 'may not'} list clusters). Saved in ${path}.\n`);
  if (!tokens.refreshToken) {
    ctx.io.err(`note: the provider gave no refresh token: log in again when the ID token expires${exp ? ` (${new Date(exp * 1000).toISOString()})` : ''}; offline_access in --oidc-scopes asks for one\n`);
  }
}
