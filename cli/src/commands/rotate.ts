import { Command } from 'commander';
import { apiFor, outputOption, printAs, type Ctx } from '../context';
import { CliError } from '../errors';
import { MAX_KUBECONFIG_BYTES, readUserFile } from '../files';
import { clusterPath, condition, type ClusterView } from '../jobs';
import { paint } from '../output';

export function rotateCommand(ctx: Ctx): Command {
  return new Command('rotate')
    .description('replace a cluster\'s credentials (same member only)')
    .argument('<name>', 'the cluster')
    .requiredOption('--kubeconfig <file>', 'the new kubeconfig (at most 1 MiB)')
    .addOption(outputOption())
    .addHelpText('after', '\nExample:\n  flotilla rotate prod-eu --kubeconfig ~/.kube/prod-eu-new.yaml')
    .action(async (name: string, opts: { kubeconfig: string; output?: string }) => {
      const kubeconfig = readUserFile(opts.kubeconfig, 'the kubeconfig', MAX_KUBECONFIG_BYTES);
      const api = apiFor(ctx, 60_000);
      if (!opts.output) ctx.io.err(`Rotating the credentials of ${name}: checking the new kubeconfig against the member...\n`);
      let cluster: ClusterView;
      try {
        cluster = await api.json<ClusterView>('PUT', `${clusterPath(name)}/kubeconfig`, { body: { kubeconfig: Buffer.from(kubeconfig, 'utf8').toString('base64') } });
      } catch (error) {
        if (error instanceof CliError && error.status && error.status.code !== 404) {
          throw new CliError(error.exitCode, `rotation of ${name} refused: ${error.status.message ?? error.message}`, [...error.hints, 'the credentials in use are unchanged'], error.status);
        }
        throw error;
      }
      if (printAs(ctx, opts.output, cluster)) return;
      const expiry = condition(cluster, 'KubeConfigCertExpiresInSevenDays');
      ctx.io.out(`${paint(ctx.io.color, 'green', '✓')} credentials of ${name} rotated: the new kubeconfig reaches the same member${expiry?.reason ? ` (${expiry.reason})` : ''}\n`);
    });
}
