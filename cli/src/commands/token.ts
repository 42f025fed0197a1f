import { Command, Option } from 'commander';
import { readLogin } from '../config';
import { render, type Format } from '../output';
import type { Ctx } from '../context';

/**
 * An ExecCredential for kubectl's exec plugin mechanism, from the stored login. A kubeconfig user
 * entry `exec: {apiVersion: client.authentication.k8s.io/v1, command: flotilla, args: [token],
 * interactiveMode: Never}` then sends the stored token.
 */
export function tokenCommand(ctx: Ctx): Command {
  return new Command('token')
    .description('print an ExecCredential with the stored token (kubectl exec plugin)')
    .addOption(new Option('-o, --output <format>', 'json (what kubectl reads) or yaml').choices(['json', 'yaml']).default('json'))
    .addHelpText('after', '\nRefreshing an OIDC token is not built yet (OIDC login is not either): the stored Flotilla token is printed as it is.')
    .action((opts: { output: Format }) => {
      const login = readLogin(ctx.env);
      ctx.io.out(render({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: login.token } }, opts.output));
    });
}
