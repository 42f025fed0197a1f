import { Command, Option } from 'commander';
import { render, type Format } from '../output';
import type { Ctx } from '../context';
import { freshLogin, tokenExpiry } from '../oidc/refresh';

/**
 * An ExecCredential for kubectl's exec plugin mechanism, from the stored login. A kubeconfig user
 * entry `exec: {apiVersion: client.authentication.k8s.io/v1, command: flotilla, args: [token],
 * interactiveMode: Never}` then sends the stored token. An OIDC ID token that expires within 60 s
 * is refreshed first (and saved); its expiry goes into the credential, so kubectl asks again then.
 */
export function tokenCommand(ctx: Ctx): Command {
  return new Command('token')
    .description('print an ExecCredential with the stored token, refreshing an OIDC one when due (kubectl exec plugin)')
    .addOption(new Option('-o, --output <format>', 'json (what kubectl reads) or yaml').choices(['json', 'yaml']).default('json'))
    .addHelpText(
      'after',
      '\nWith an OIDC login (flotilla login --oidc-issuer ...), an ID token that expires within 60 s is first\nrefreshed with the stored refresh token, and the new tokens are saved.\n\nkubeconfig user entry:\n  exec: {apiVersion: client.authentication.k8s.io/v1, command: flotilla, args: [token], interactiveMode: Never}',
    )
    .action(async (opts: { output: Format }) => {
      const login = await freshLogin(ctx.env);
      const exp = login.oidc ? tokenExpiry(login.token) : undefined;
      const status = { token: login.token, ...(exp !== undefined ? { expirationTimestamp: new Date(exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') } : {}) };
      ctx.io.out(render({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status }, opts.output));
    });
}
