import { readSync } from 'node:fs';
import { Command } from 'commander';
import { writeLogin, type Login } from '../config';
import { outputOption, printAs, type Ctx } from '../context';
import { CliError, ExitCode } from '../errors';
import { readUserFile } from '../files';
import { Api } from '../http';

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

export function loginCommand(ctx: Ctx): Command {
  return new Command('login')
    .description('store the server and your token (~/.config/flotilla, mode 0600)')
    .requiredOption('--server <url>', 'the gateway, e.g. https://flotilla.example.com')
    .option('--token <token>', 'a Flotilla token (POST /apis/iam.flotilla.io/v1alpha1/tokens); "-" reads it from stdin')
    .option('--certificate-authority <file>', 'PEM of the CA that signed the gateway\'s certificate (a private CA)')
    .addOption(outputOption())
    .addHelpText(
      'after',
      '\nOIDC login (the device or browser flow) is not built yet: log in with a Flotilla token.\n\nExample:\n  printf %s "$TOKEN" | flotilla login --server https://flotilla.example.com --token - --certificate-authority ca.crt',
    )
    .action(async (opts: { server: string; token?: string; certificateAuthority?: string; output?: string }) => {
      const server = serverUrl(opts.server);
      if (opts.token === undefined || opts.token === '') {
        throw new CliError(ExitCode.Usage, 'login needs --token: OIDC login (device or browser flow) is not built yet', [
          'create a token (POST /apis/iam.flotilla.io/v1alpha1/tokens) and pass it with --token - on stdin',
        ]);
      }
      const token = opts.token === '-' ? tokenFromStdin() : opts.token;
      if (token === '' || /\s/.test(token)) throw new CliError(ExitCode.Usage, '--token: a token is one word without spaces');
      let certificateAuthority: string | undefined;
      if (opts.certificateAuthority) {
        certificateAuthority = readUserFile(opts.certificateAuthority, 'the certificate authority', 1024 * 1024);
        if (!certificateAuthority.includes('-----BEGIN CERTIFICATE-----')) {
          throw new CliError(ExitCode.Refused, `--certificate-authority: ${opts.certificateAuthority} holds no PEM certificate`, ['name the CA certificate file (-----BEGIN CERTIFICATE-----)']);
        }
      }
      const login: Login = { server, token, ...(certificateAuthority ? { certificateAuthority } : {}) };
      // Proves the server answers and takes the token before anything is stored.
      const review = await new Api(login, 15_000).json<{ status?: { allowed?: boolean } }>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { group: 'cluster.kubesphere.io', resource: 'clusters', verb: 'list' } } },
      });
      const path = writeLogin(login, ctx.env);
      const canList = review.status?.allowed === true;
      if (printAs(ctx, opts.output, { server, configPath: path, canListClusters: canList })) return;
      ctx.io.out(`Logged in to ${server} (token accepted; you ${canList ? 'may' : 'may not'} list clusters). Saved in ${path}.\n`);
      if (server.startsWith('http:')) ctx.io.err('note: kubectl sends tokens only over https: kubeconfigs from `flotilla kubeconfig` need an https server\n');
    });
}
