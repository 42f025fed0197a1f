import { Command } from 'commander';
import { stringify } from 'yaml';
import { apiFor, printAs, type Ctx } from '../context';
import { CliError, ExitCode } from '../errors';
import { readUserFile, writePrivateFile } from '../files';
import { parseDuration } from '../jobs';
import { mergeKubeconfig, parseKubeconfig, selectorObject, type KubeconfigDoc } from '../kubeconfig-merge';

interface KubeconfigOptions {
  selector?: string;
  merge?: string;
  output?: string;
  expiration?: string;
  description?: string;
}

const KUBECONFIGS = '/apis/iam.flotilla.io/v1alpha1/kubeconfigs';

function readExisting(path: string): KubeconfigDoc {
  try {
    return parseKubeconfig(readUserFile(path, 'the kubeconfig to merge into', 16 * 1024 * 1024), path);
  } catch (error) {
    // A file that does not exist yet is created.
    if (error instanceof CliError && error.exitCode === ExitCode.NotFound) return {};
    throw error;
  }
}

export function kubeconfigCommand(ctx: Ctx): Command {
  return new Command('kubeconfig')
    .description('a kubeconfig: one context per member, through the proxy')
    .argument('[names...]', 'the clusters (default: every cluster, or those -l selects)')
    .option('-l, --selector <selector>', 'the clusters whose labels match, e.g. env=prod')
    .option('--merge <file>', 'merge into this kubeconfig (e.g. ~/.kube/config), keeping its current-context')
    .option('-o, --output <file|json|yaml>', 'write to this file (mode 0600), or print as json or yaml (default: YAML on stdout)')
    .option('--expiration <duration>', 'lifetime of the minted token, 10m to 365d (e.g. 24h, 30d; default 90 days)')
    .option('--description <text>', 'description of the minted token')
    .addHelpText(
      'after',
      '\nExamples:\n  flotilla kubeconfig prod-eu --merge ~/.kube/config && kubectl --context prod-eu get ns\n  flotilla kubeconfig -l env=prod -o prod.kubeconfig\n\nThe bootstrap admin token cannot mint kubeconfigs: log in as a user.',
    )
    .action(async (names: string[], opts: KubeconfigOptions) => {
      if (opts.merge && opts.output) throw new CliError(ExitCode.Usage, 'give --merge FILE or -o FILE, not both');
      const body: Record<string, unknown> = {};
      if (names.length) body.clusters = names;
      if (opts.selector !== undefined) body.clusterSelector = selectorObject(opts.selector);
      if (!names.length && opts.selector === undefined) body.clusterSelector = {};
      if (opts.expiration) {
        body.expirationSeconds = Math.floor(parseDuration(opts.expiration, '--expiration') / 1000);
      }
      if (opts.description) body.description = opts.description;
      const answer = await apiFor(ctx).request('POST', KUBECONFIGS, { body, accept: 'application/yaml' });
      const tokenName = answer.headers['x-flotilla-token-name'];
      const note = typeof tokenName === 'string' ? `its token is ${tokenName} (revoke it with DELETE /apis/iam.flotilla.io/v1alpha1/tokens/${tokenName})` : '';

      if (opts.merge) {
        const served = parseKubeconfig(answer.text, 'the kubeconfig Flotilla returned');
        const merged = mergeKubeconfig(readExisting(opts.merge), served);
        writePrivateFile(opts.merge, stringify(merged.doc));
        if (merged.replaced.length) ctx.io.err(`replaced contexts of the same name: ${merged.replaced.join(', ')}\n`);
        ctx.io.err(`merged ${merged.added.length + merged.replaced.length} contexts into ${opts.merge} (current-context: ${merged.doc['current-context'] ?? 'none'}); ${note}\n`);
        return;
      }
      if (opts.output === 'json' || opts.output === 'yaml') {
        printAs(ctx, opts.output, parseKubeconfig(answer.text, 'the kubeconfig Flotilla returned'));
        return;
      }
      if (opts.output) {
        writePrivateFile(opts.output, answer.text);
        ctx.io.err(`wrote ${opts.output} (mode 0600); ${note}\n`);
        return;
      }
      ctx.io.out(answer.text.endsWith('\n') ? answer.text : `${answer.text}\n`);
      if (note) ctx.io.err(`${note}\n`);
    });
}
