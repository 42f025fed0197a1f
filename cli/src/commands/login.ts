import { readSync } from 'node:fs';
import { Command, Option } from 'commander';
import { writeLogin, type Login } from '../config';
import { outputOption, printAs, type Ctx } from '../context';
import { CliError, ExitCode } from '../errors';
import { readUserFile } from '../files';
import { DEFAULT_OIDC_SCOPES, mayListClusters, oidcLogin, type OidcLoginOptions } from './login-oidc';

const MAX_TOKEN_BYTES = 64 * 1024;

/** Reads a token piped on stdin (`--token -`), keeping it off the command line and out of the shell history. */
function tokenFromStdin(): string {
  const buffer = Buffer.alloc(MAX_TOKEN_BYTES + 1);
  let length = 0;
  for (;;) {
    let n = 0;
    try {
      n = readSync(0, buffer, length, buffer.length - length, null);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((error as NodeJS.ErrnoException).code === 'EOF') break;
      throw new CliError(ExitCode.Refused, 'cannot read the token from stdin', ['pipe it in: `printf %s "$TOKEN" | flotilla login --server URL --token -`']);
    }
    if (n === 0) break;
    length += n;
    if (length > MAX_TOKEN_BYTES) throw new CliError(ExitCode.Refused, 'the token on stdin is larger than 64 KiB: pipe only the token');
  }
  return buffer.subarray(0, length).toString('utf8').trim();
}

function serverUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(ExitCode.Usage, `--server: "${value}" is not a URL`, ['give it as https://flotilla.example.com or http://127.0.0.1:8080']);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new CliError(ExitCode.Usage, `--server: "${value}" must start with https:// or http://`);
  if (url.username || url.password || url.search || url.hash) throw new CliError(ExitCode.Usage, '--server: give only scheme, host, port and path (no user, query or fragment)');
  return url.toString().replace(/\/+$/, '');
}

/** Stores a Flotilla token once the server has taken it (a SelfSubjectAccessReview). */
async function tokenLogin(ctx: Ctx, base: Pick<Login, 'server' | 'certificateAuthority'>, token: string, output: string | undefined): Promise<void> {
  if (token === '' || /\s/.test(token)) throw new CliError(ExitCode.Usage, '--token: a token is one word without spaces');
  const login: Login = { ...base, token };
  const canList = await mayListClusters(login);
  const path = writeLogin(login, ctx.env);
  if (printAs(ctx, output, { server: login.server, configPath: path, canListClusters: canList })) return;
  ctx.io.out(`Logged in to ${login.server} (token accepted; you ${canList ? 'may' : 'may not'} list clusters). Saved in ${path}.\n`);
}

export function loginCommand(ctx: Ctx): Command {
  return new Command('login')
    .description('store the server and your token, or log in through OIDC (~/.config/flotilla, mode 0600)')
    .requiredOption('--server <url>', 'the gateway, e.g. https://flotilla.example.com')
    .option('--token <token>', 'a Flotilla token (POST /apis/iam.flotilla.io/v1alpha1/tokens); "-" reads it from stdin')
    .option('--certificate-authority <file>', 'PEM of the CA that signed the gateway\'s certificate (a private CA)')
    .option('--oidc', 'log in through OIDC (implied by --oidc-issuer)')
    .option('--oidc-issuer <url>', 'the OIDC issuer the gateway trusts (its FLOTILLA_OIDC_ISSUER_URL)')
    .option('--oidc-client-id <id>', 'the public client of the CLI at the provider (the gateway\'s FLOTILLA_OIDC_AUDIENCE)')
    .option('--oidc-scopes <scopes>', 'scopes to ask for, comma separated (openid is required; offline_access gives a refresh token)', DEFAULT_OIDC_SCOPES)
    .option('--browser', 'OIDC: sign in in a browser (authorization code + PKCE, redirect to 127.0.0.1); default: the device flow when the issuer offers it')
    .option('--device', 'OIDC: the device flow (open a URL on any device, enter a code)')
    .option('--listen-port <port>', 'with --browser: the port of the redirect http://127.0.0.1:PORT/callback, for a provider that needs a fixed one (default: a free port)')
    .option('--no-open', 'with --browser: only print the URL, do not start a browser (started only in a desktop session)')
    .addOption(new Option('--timeout <duration>', 'how long to wait for the sign-in (90s, 5m, 1h; default 10m for the device flow, 5m in a browser)'))
    .addOption(outputOption())
    .addHelpText(
      'after',
      '\nWith a Flotilla token:\n  printf %s "$TOKEN" | flotilla login --server https://flotilla.example.com --token - --certificate-authority ca.crt\n' +
        '\nWith OIDC (the device flow: open the URL shown, enter the code, sign in; --timeout bounds the wait):\n' +
        '  flotilla login --server https://flotilla.example.com --oidc-issuer https://login.example.com --oidc-client-id flotilla-cli \\\n    --oidc-scopes openid,offline_access,email,groups\n' +
        'Add --browser to sign in in a browser on this machine instead (the provider must allow the redirect\n' +
        'URI http://127.0.0.1/callback, any port, or give --listen-port); it is used anyway when the issuer has no device flow.\n' +
        '`flotilla token` then refreshes the ID token when it expires within 60 s.',
    )
    .action(async (opts: { server: string; token?: string; certificateAuthority?: string; output?: string; oidc?: boolean } & Omit<OidcLoginOptions, 'output'>) => {
      const server = serverUrl(opts.server);
      const useOidc =
        opts.oidc === true || opts.oidcIssuer !== undefined || opts.oidcClientId !== undefined || opts.browser === true || opts.device === true || opts.listenPort !== undefined;
      if (useOidc && opts.token !== undefined) throw new CliError(ExitCode.Usage, 'give either --token or the --oidc options, not both');
      if (!useOidc && (opts.token === undefined || opts.token === '')) {
        throw new CliError(ExitCode.Usage, 'login needs --token, or --oidc-issuer and --oidc-client-id', [
          'create a token (POST /apis/iam.flotilla.io/v1alpha1/tokens) and pass it with --token - on stdin, or log in through your identity provider with --oidc-issuer URL --oidc-client-id ID',
        ]);
      }
      let certificateAuthority: string | undefined;
      if (opts.certificateAuthority) {
        certificateAuthority = readUserFile(opts.certificateAuthority, 'the certificate authority', 1024 * 1024);
        if (!certificateAuthority.includes('-----BEGIN CERTIFICATE-----')) {
          throw new CliError(ExitCode.Refused, `--certificate-authority: ${opts.certificateAuthority} holds no PEM certificate`, ['name the CA certificate file (-----BEGIN CERTIFICATE-----)']);
        }
      }
      const base = { server, ...(certificateAuthority ? { certificateAuthority } : {}) };
      if (useOidc) await oidcLogin(ctx, base, opts);
      else await tokenLogin(ctx, base, opts.token === '-' ? tokenFromStdin() : opts.token!, opts.output);
      if (server.startsWith('http:')) ctx.io.err('note: kubectl sends tokens only over https: kubeconfigs from `flotilla kubeconfig` need an https server\n');
    });
}
