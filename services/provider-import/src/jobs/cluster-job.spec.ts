import { randomUUID } from 'node:crypto';
import { CLUSTER_API_VERSION, Cluster, ErrorReason, FlotillaError } from '@flotilla/domain';
import type { ImportJob } from '@flotilla/domain';
import type { ImportJobsClient } from '@flotilla/clients';
import type { Logger } from '@flotilla/observability';
import { JobName } from '@flotilla/queue';
import { ClusterJob, runClusterJob } from './cluster-job';
import { JobRecorder } from './job-recorder';

const uid = randomUUID();
const cluster = (initializedReason = 'Pending'): Cluster => ({
  apiVersion: CLUSTER_API_VERSION,
  kind: 'Cluster',
  metadata: { name: 'm', uid },
  spec: { connection: { type: 'direct' } },
  status: { conditions: [{ type: 'Initialized', status: initializedReason === 'Imported' ? 'True' : 'False', reason: initializedReason, message: '' }] },
});

/** An import job whose steps throw `error`, recording what reaches `failed`. */
function importThrowing(error: unknown) {
  const seen: { error: unknown; last: boolean }[] = [];
  let ran = 0;
  const job: ClusterJob = {
    type: 'import',
    queueJob: JobName.ClusterImport,
    applies: () => true,
    steps: async () => {
      ran++;
      throw error;
    },
    failed: async (e, _c, _r, attempts) => void seen.push({ error: e, last: attempts.last }),
  };
  return { job, seen, ran: () => ran };
}

const deps = (c: Cluster) => ({
  findCluster: async () => c,
  reports: { report: async () => undefined, list: async () => [] } as unknown as ImportJobsClient,
  logger: { warn: () => undefined } as unknown as Logger,
});
const context = (attempt: number) => ({ jobId: 'j', attempt, progress: async () => undefined });

describe('runClusterJob: errors classified (issue 13)', () => {
  it.each([ErrorReason.ServiceUnavailable, ErrorReason.Timeout])('retries a registry %s with backoff (rethrows to BullMQ) instead of recording a failure', async (reason) => {
    const error = new FlotillaError(reason, 'the registry service is unavailable; retry shortly');
    const { job, seen } = importThrowing(error);
    await expect(runClusterJob(deps(cluster()), job, { name: 'm', uid }, context(1))).rejects.toBe(error);
    expect(seen).toEqual([]);
  });

  it('hands the same error to the job on the last attempt, to record why it gave up', async () => {
    const error = new FlotillaError(ErrorReason.ServiceUnavailable, 'the registry service is unavailable; retry shortly');
    const { job, seen } = importThrowing(error);
    await runClusterJob(deps(cluster()), job, { name: 'm', uid }, context(5));
    expect(seen).toEqual([{ error, last: true }]);
  });

  it('fails invalid input at once, with its reason', async () => {
    const error = new FlotillaError(ErrorReason.Invalid, 'spec.connection.kubeconfig: exec plugins are refused');
    const { job, seen } = importThrowing(error);
    await runClusterJob(deps(cluster()), job, { name: 'm', uid }, context(1));
    expect(seen).toEqual([{ error, last: false }]);
  });

  it('does not import again a cluster whose import already has an outcome (a job sent again after Redis lost it)', async () => {
    const { job, ran } = importThrowing(new Error('must not run'));
    await runClusterJob(deps(cluster('Imported')), job, { name: 'm', uid }, context(1));
    await runClusterJob(deps(cluster('ReachableFailed')), job, { name: 'm', uid }, context(1));
    expect(ran()).toBe(0);
  });

  it('closes the record of a settled import whose run died before reporting its outcome (SIGKILL mid-import)', async () => {
    const reported: ImportJob[] = [];
    const running: ImportJob = {
      apiVersion: CLUSTER_API_VERSION,
      kind: 'ImportJob',
      metadata: { name: `import-${uid}` },
      spec: { type: 'import', clusterName: 'm', clusterUid: uid },
      status: { state: 'Running', step: 'Record', percent: 92, steps: [{ name: 'Record', state: 'Running', time: '2026-11-27T00:00:00Z' }] },
    };
    const reports = { list: async () => [reported[reported.length - 1] ?? running], report: async (j: ImportJob) => void reported.push(structuredClone(j)) };
    const settled = cluster('Imported');
    settled.status!.conditions![0]!.message = 'imported as a kubeadm cluster';
    const { job, ran } = importThrowing(new Error('must not run'));
    await runClusterJob({ ...deps(settled), reports: reports as unknown as ImportJobsClient }, job, { name: 'm', uid }, context(1));
    expect(ran()).toBe(0);
    expect(reported).toHaveLength(1);
    expect(reported[0]!.status).toMatchObject({ state: 'Succeeded', percent: 100, message: 'imported as a kubeadm cluster', steps: [{ name: 'Record', state: 'Succeeded' }] });
    // Closed: the next job sent again writes nothing.
    await runClusterJob({ ...deps(settled), reports: reports as unknown as ImportJobsClient }, job, { name: 'm', uid }, context(1));
    expect(reported).toHaveLength(1);
  });
});

describe('JobRecorder.finish', () => {
  it('tries the final report again until it lands (the registry restarting), so no record stays Running', async () => {
    const sent: string[] = [];
    let failures = 2;
    const client = {
      report: async (j: ImportJob) => {
        if (j.status.state !== 'Running' && failures-- > 0) throw new FlotillaError(ErrorReason.ServiceUnavailable, 'the registry service is unavailable');
        sent.push(j.status.state);
      },
    };
    const recorder = new JobRecorder(client as unknown as ImportJobsClient, undefined, 'import', 'm', uid, () => undefined, [1, 1, 1]);
    await recorder.step('ServerAnswers', 10);
    await recorder.finish('Succeeded', 'imported');
    expect(sent[sent.length - 1]).toBe('Succeeded');
  });
});
