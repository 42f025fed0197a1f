import { CliError, ExitCode } from './errors';
import type { Api } from './http';
import type { JobProgress, JobView } from './progress';

export const CLUSTERS = '/apis/cluster.kubesphere.io/v1alpha1/clusters';

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface ClusterView {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; uid?: string; labels?: Record<string, string>; creationTimestamp?: string; deletionTimestamp?: string };
  spec?: { provider?: string; connection?: { type?: string } };
  status?: { conditions?: Condition[]; kubernetesVersion?: string; nodeCount?: number; zones?: string[]; region?: string };
}

export const condition = (c: ClusterView | undefined, type: string) => c?.status?.conditions?.find((x) => x.type === type);

export const clusterPath = (name: string) => `${CLUSTERS}/${encodeURIComponent(name)}`;

/** Longest single stream before the CLI reconnects (and checks the cluster itself). */
const STREAM_SECONDS = 60;

/**
 * Follows the cluster's job of this type and uid on the job event stream (server-sent events),
 * showing its progress, until it succeeds or fails, or the deadline passes (exit 4). Each time a
 * stream ends without a verdict, `settled` may end the wait (the cluster is gone, or Ready).
 */
export async function followJob(
  api: Api,
  name: string,
  match: { uid: string; type: 'import' | 'remove' },
  progress: JobProgress,
  deadline: number,
  settled: () => Promise<boolean> = async () => false,
): Promise<JobView | undefined> {
  let last: JobView | undefined;
  for (;;) {
    const remaining = Math.ceil((deadline - Date.now()) / 1000);
    if (remaining <= 0) break;
    const seconds = Math.min(remaining, STREAM_SECONDS);
    const done = await api.events(
      `${clusterPath(name)}/jobs?timeoutSeconds=${seconds}`,
      (type, data) => {
        if (type !== 'ADDED' && type !== 'MODIFIED') return false;
        const job = data as JobView;
        if (job?.spec?.clusterUid !== match.uid || job.spec.type !== match.type) return false;
        last = job;
        progress.update(job);
        return job.status.state === 'Succeeded' || job.status.state === 'Failed';
      },
      (seconds + 30) * 1000,
    );
    if (done) return last;
    if (await settled()) return last;
  }
  progress.stop();
  const at = last ? ` (at ${last.status.step ?? last.status.state}, ${last.status.percent ?? 0}%)` : '';
  throw new CliError(ExitCode.Unreachable, `timed out waiting for the ${match.type === 'import' ? 'import' : 'removal'} of ${name}${at}`, [
    `it goes on in Flotilla: follow it with \`flotilla get clusters ${name}\`, or wait longer with --timeout`,
  ]);
}

/** Parses a duration flag: 90, 90s, 5m, 1h, 30d (a bare number is seconds). */
export function parseDuration(value: string, flag = '--timeout'): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new CliError(ExitCode.Usage, `${flag}: "${value}" is not a duration`, ['write it as 90s, 5m, 1h or 30d']);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 's'] ?? 1000;
  return Number(m[1]) * unit;
}
