import { Command } from 'commander';
import { apiFor, outputOption, parseLabels, printAs, timeoutOption, type Ctx } from '../context';
import { CliError, ExitCode, statusHints, type KubeStatus } from '../errors';
import { MAX_KUBECONFIG_BYTES, readUserFile } from '../files';
import type { Api } from '../http';
import { CLUSTERS, clusterPath, condition, followJob, parseDuration, type ClusterView } from '../jobs';
import { paint } from '../output';
import { JobProgress } from '../progress';

interface ImportOptions {
  kubeconfig?: string;
  context?: string;
  provider?: string;
  labels?: string;
  dryRun?: boolean;
  serviceAccount?: boolean;
  agent?: boolean;
  output?: string;
  timeout: string;
}

/** The Cluster a direct import creates (docs/api.md); the kubeconfig travels base64-encoded, write-only. */
function clusterBody(name: string, kubeconfig: string, opts: ImportOptions) {
  const labels = parseLabels(opts.labels);
  const annotations: Record<string, string> = {};
  if (opts.context) annotations['import.flotilla.io/context'] = opts.context;
  if (opts.serviceAccount) annotations['import.flotilla.io/credentials'] = 'service-account';
  return {
    apiVersion: 'cluster.kubesphere.io/v1alpha1',
    kind: 'Cluster',
    metadata: { name, ...(Object.keys(labels).length ? { labels } : {}), ...(Object.keys(annotations).length ? { annotations } : {}) },
    spec: { ...(opts.provider ? { provider: opts.provider } : {}), connection: { type: 'direct', kubeconfig: Buffer.from(kubeconfig, 'utf8').toString('base64') } },
  };
}

/** POST .../clusters/validation: every check, nothing written. A refusal is printed with its fix, and exits 2 (3 for a missing cluster). */
async function validate(ctx: Ctx, api: Api, body: unknown, output: string | undefined): Promise<KubeStatus> {
  try {
    return await api.json<KubeStatus>('POST', `${CLUSTERS}/validation`, { body });
  } catch (error) {
    if (error instanceof CliError && error.status) {
      if (printAs(ctx, output, error.status)) throw new CliError(error.exitCode, '');
      const lines = [`${paint(ctx.io.errColor, 'red', '✗')} import checks failed: ${error.status.message ?? error.message}`, ...statusHints(error.status).map((h) => `  ${h}`)];
      throw new CliError(error.exitCode, lines.join('\n'), ['fix the cause, then run the same command again (--dry-run checks without importing)']);
    }
    throw error;
  }
}

/** Waits (bounded by the deadline) for Ready=True after the job succeeded; the import job sets it itself. */
async function waitReady(api: Api, name: string, deadline: number): Promise<ClusterView> {
  for (;;) {
    const cluster = await api.json<ClusterView>('GET', clusterPath(name));
    const ready = condition(cluster, 'Ready');
    if (ready?.status === 'True') return cluster;
    if (ready?.status === 'False' || Date.now() > deadline) {
      throw new CliError(ExitCode.Failed, `${name} was imported but is not Ready: ${ready?.reason ?? 'Unknown'}${ready?.message ? `: ${ready.message}` : ''}`, [
        `follow it with \`flotilla get clusters ${name} -o wide\``,
      ]);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The failure as the job and the cluster tell it (the job finishes before the cluster's condition is written). */
function failure(cluster: ClusterView | undefined, job: { status: { step?: string; message?: string } } | undefined, name: string): CliError {
  const initialized = condition(cluster, 'Initialized');
  // Initialized=False with reason Pending is an import still running (the job can finish first).
  const failed = initialized?.status === 'False' && initialized.reason !== 'Pending';
  const message = job?.status.message ?? (failed ? initialized.message : undefined) ?? 'the import job failed';
  const reason = failed && initialized.reason ? initialized.reason : job?.status.step ? `${job.status.step}Failed` : 'ImportFailed';
  return new CliError(ExitCode.Failed, `import of ${name} failed (${reason}): ${message}`, [
    `fix the cause (\`flotilla import ${name} --kubeconfig FILE --dry-run\` tells you when it is fixed), then \`flotilla remove ${name}\` and import again`,
  ]);
}

export function importCommand(ctx: Ctx): Command {
  return new Command('import')
    .description('validate and import a cluster, following it until Ready')
    .argument('<name>', 'the cluster\'s name in Flotilla (a DNS-1123 label)')
    .option('--kubeconfig <file>', 'a kubeconfig that reaches the member (read only because you name it; at most 1 MiB)')
    .option('--context <context>', 'the kubeconfig context to use (default: its current-context)')
    .option('--provider <provider>', 'kubeadm, aliyun-ack, aws-eks, generic... (default: detected)')
    .option('--labels <k=v,...>', 'labels of the new cluster, e.g. env=prod,team=a')
    .option('--service-account', 'store a lasting service-account kubeconfig Flotilla creates in the member instead of the given one (the EKS path; member access through the proxy needs it)')
    .option('--dry-run', 'run every import check and write nothing')
    .option('--agent', 'import through the agent (tunnel) connection: not built yet')
    .addOption(outputOption())
    .addOption(timeoutOption('5m'))
    .addHelpText('after', '\nExample:\n  flotilla import prod-eu --kubeconfig ~/.kube/prod-eu.yaml --labels env=prod\n\nThe agent connection (--agent) is not built yet: import by direct connection.')
    .action(async (name: string, opts: ImportOptions) => {
      if (opts.agent) {
        throw new CliError(ExitCode.Refused, '--agent: the agent (tunnel) connection is not built yet', ['import by direct connection: flotilla import NAME --kubeconfig FILE']);
      }
      if (!opts.kubeconfig) throw new CliError(ExitCode.Usage, 'import needs --kubeconfig FILE: a kubeconfig that reaches the member', ['e.g. flotilla import prod-eu --kubeconfig ~/.kube/prod-eu.yaml']);
      const deadline = Date.now() + parseDuration(opts.timeout);
      const body = clusterBody(name, readUserFile(opts.kubeconfig, 'the kubeconfig', MAX_KUBECONFIG_BYTES), opts);
      const api = apiFor(ctx);

      const checked = await validate(ctx, api, body, opts.dryRun ? opts.output : undefined);
      if (opts.dryRun) {
        if (!printAs(ctx, opts.output, checked)) ctx.io.out(`${paint(ctx.io.color, 'green', '✓')} ${checked.message ?? 'all import checks passed'} (dry run: nothing written)\n`);
        return;
      }
      const quiet = opts.output !== undefined;
      if (!quiet) ctx.io.err(`${paint(ctx.io.errColor, 'green', '✓')} ${checked.message ?? 'all import checks passed'}\n`);

      const created = await api.json<ClusterView>('POST', CLUSTERS, { body });
      const uid = created.metadata.uid ?? '';
      const progress = new JobProgress(ctx.io, `Importing ${name}`, quiet);
      let job;
      try {
        job = await followJob(api, name, { uid, type: 'import' }, progress, deadline, async () => {
          const c = await api.json<ClusterView>('GET', clusterPath(name));
          return condition(c, 'Initialized')?.status === 'False';
        });
      } finally {
        progress.stop();
      }
      for (const warning of job?.status.warnings ?? []) if (!quiet) ctx.io.err(`${paint(ctx.io.errColor, 'yellow', '!')} ${warning}\n`);
      if (job?.status.state !== 'Succeeded') {
        const cluster = await api.json<ClusterView>('GET', clusterPath(name)).catch(() => undefined);
        throw failure(cluster, job, name);
      }
      const ready = await waitReady(api, name, deadline);
      if (printAs(ctx, opts.output, ready)) return;
      const s = ready.status ?? {};
      ctx.io.out(
        `${paint(ctx.io.color, 'green', '✓')} ${name} is Ready: ${ready.spec?.provider ?? 'unknown provider'}, ${s.kubernetesVersion ?? 'unknown version'}, ${s.nodeCount ?? 0} node${s.nodeCount === 1 ? '' : 's'}${s.zones?.length ? `, zones ${s.zones.join(', ')}` : ''}\n`,
      );
    });
}
