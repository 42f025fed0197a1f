import { Command } from 'commander';
import { apiFor, outputOption, printAs, timeoutOption, type Ctx } from '../context';
import { CliError, ExitCode, isStatus } from '../errors';
import type { Api } from '../http';
import { clusterPath, followJob, parseDuration, type ClusterView } from '../jobs';
import { paint } from '../output';
import { JobProgress, type JobView } from '../progress';

const gone = async (api: Api, name: string) => (await api.request('GET', clusterPath(name), { allow: [404] })).status === 404;

async function removalJob(api: Api, name: string, uid: string): Promise<JobView | undefined> {
  const list = await api.json<{ items: JobView[] }>('GET', `${clusterPath(name)}/jobs`);
  return list.items.find((j) => j.spec.type === 'remove' && j.spec.clusterUid === uid);
}

/** Waits (bounded) until the record is gone: the removal job takes the finalizer off last. */
async function waitGone(api: Api, name: string, deadline: number): Promise<void> {
  while (!(await gone(api, name))) {
    if (Date.now() > deadline) throw new CliError(ExitCode.Unreachable, `timed out waiting for ${name} to go`, [`follow it with \`flotilla get clusters ${name}\``]);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function removeCommand(ctx: Ctx): Command {
  return new Command('remove')
    .description('unbind a cluster and report what was left in it')
    .argument('<name>', 'the cluster')
    .option('--force', 'do not wait for an unreachable member: what is left in it is reported as orphans')
    .addOption(outputOption())
    .addOption(timeoutOption('5m'))
    .addHelpText('after', '\nExample:\n  flotilla remove prod-eu\n  flotilla remove lost-cluster --force')
    .action(async (name: string, opts: { force?: boolean; output?: string; timeout: string }) => {
      const deadline = Date.now() + parseDuration(opts.timeout);
      const api = apiFor(ctx);
      const before = await api.json<ClusterView>('GET', clusterPath(name));
      const uid = before.metadata.uid ?? '';
      const answer = await api.json<unknown>('DELETE', `${clusterPath(name)}${opts.force ? '?force=true' : ''}`);
      const quiet = opts.output !== undefined;
      let job: JobView | undefined;
      if (!isStatus(answer)) {
        const progress = new JobProgress(ctx.io, `Removing ${name}${opts.force ? ' (forced)' : ''}`, quiet);
        try {
          job = await followJob(api, name, { uid, type: 'remove' }, progress, deadline, () => gone(api, name));
        } finally {
          progress.stop();
        }
        if (job?.status.state === 'Failed') {
          throw new CliError(ExitCode.Failed, `removal of ${name} failed at ${job.status.step ?? 'a step'}: ${job.status.message ?? 'no reason given'}`, [
            `run \`flotilla remove ${name} --force\` to finish the host side when the member is gone for good`,
          ]);
        }
        await waitGone(api, name, deadline);
      }
      job ??= await removalJob(api, name, uid);
      if (printAs(ctx, opts.output, job ?? { kind: 'Status', status: 'Success', details: { name } })) return;
      ctx.io.out(`${paint(ctx.io.color, 'green', '✓')} ${name} removed\n`);
      const orphans = job?.status.orphans ?? [];
      if (orphans.length) {
        ctx.io.out(`${paint(ctx.io.color, 'yellow', '!')} left in the member (Flotilla could not remove them; delete them by hand if the member still exists):\n`);
        for (const o of orphans) ctx.io.out(`  ${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}: ${o.reason}\n`);
      }
    });
}
