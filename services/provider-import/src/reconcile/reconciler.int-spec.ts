import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { CLUSTER_API_VERSION, Cluster, findCondition } from '@flotilla/domain';
import { ImportJobsClient, RegistryClient } from '@flotilla/clients';
import { JOBS, JobName, JobQueue } from '@flotilla/queue';
import { PlatformEnv, SourceProcess, TEST_REDIS_URL, eventually, preparePlatformEnv, startSourceProcess } from '@flotilla/testing';
import { ClusterRecords } from '../import/cluster-records';
import { StuckClusterReconciler } from './reconciler';

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{name: m, cluster: {server: "https://203.0.113.10:6443"}}]
users: [{name: a, user: {token: "t0k3n"}}]
contexts: [{name: m, context: {cluster: m, user: a}}]
current-context: m
`;

/** Issue 13: no import stays Pending after a lost job or a job BullMQ failed without its handler (a stall). */
describe('stuck-cluster reconciler (real registry, Postgres and Redis)', () => {
  const importJob = JOBS[JobName.ClusterImport];
  let platform: PlatformEnv;
  let registry: SourceProcess;
  let client: RegistryClient;
  let creator: RegistryClient;
  let reports: ImportJobsClient;
  let redis: Redis;
  let queue: JobQueue;
  let bull: Queue;
  let reconciler: StuckClusterReconciler;

  beforeAll(async () => {
    platform = await preparePlatformEnv();
    registry = await startSourceProcess('registry', platform.env('registry'), platform.ports.registryHttp);
    const target = `127.0.0.1:${platform.ports.registryGrpc}`;
    const token = platform.env('provider-import').FLOTILLA_INTERNAL_TOKEN!;
    client = new RegistryClient(target, token);
    creator = new RegistryClient(target, platform.env('gateway').FLOTILLA_INTERNAL_TOKEN!); // creates clusters, as the gateway does
    reports = new ImportJobsClient(target, token);
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 2000 });
    queue = new JobQueue(redis, platform.queuePrefix);
    bull = new Queue(importJob.queue, { connection: redis, prefix: platform.queuePrefix });
    // Bound 0 and a clock a second ahead: every pending cluster counts as stuck.
    reconciler = new StuckClusterReconciler({
      records: new ClusterRecords(client),
      reports,
      queue,
      logger: { warn: () => undefined, info: () => undefined },
      boundSeconds: 0,
      now: () => Date.now() + 1000,
    });
  }, 120_000);
  afterAll(async () => {
    await bull?.close();
    await queue?.close();
    await redis?.quit();
    client?.close();
    creator?.close();
    reports?.close();
    await registry?.stop();
    await platform?.cleanup();
  });

  async function create(name: string): Promise<{ uid: string; jobId: string }> {
    const c: Cluster = { apiVersion: CLUSTER_API_VERSION, kind: 'Cluster', metadata: { name }, spec: { provider: 'kubeadm', connection: { type: 'direct', kubeconfig: KUBECONFIG } } };
    const uid = (await creator.createCluster(c)).metadata.uid!;
    const jobId = importJob.idempotencyKey({ name, uid });
    await eventually(async () => expect(await bull.getJob(jobId)).toBeTruthy()); // relayed by the registry's outbox
    return { uid, jobId };
  }
  const initialized = async (name: string) => findCondition((await client.getCluster(name)).status?.conditions, 'Initialized');

  it('records the outcome of an import job BullMQ failed without its handler (stalled), so the cluster does not stay Pending', async () => {
    const { uid, jobId } = await create('stalls');
    // BullMQ fails a job that stalled too often without calling the handler: what this worker does.
    const connection = redis.duplicate({ maxRetriesPerRequest: null, commandTimeout: undefined });
    const worker = new Worker(importJob.queue, async () => {
      throw new UnrecoverableError('job stalled more than allowable limit');
    }, { connection, prefix: platform.queuePrefix });
    await eventually(async () => expect(await (await bull.getJob(jobId))?.getState()).toBe('failed'));
    await worker.close();
    connection.disconnect();
    expect(await initialized('stalls')).toMatchObject({ reason: 'Pending' });

    expect((await reconciler.sweep()).recorded).toEqual(['stalls']);
    expect(await initialized('stalls')).toMatchObject({ status: 'False', reason: 'ImportFailed', message: expect.stringContaining('job stalled more than allowable limit') });
    const record = (await reports.list('stalls')).find((r) => r.metadata.name === `import-${uid}`);
    expect(record?.status).toMatchObject({ state: 'Failed', message: expect.stringContaining('stalled') });
    // Recorded once: the next sweep finds nothing stuck.
    expect(await reconciler.sweep()).toEqual({ requeued: [], recorded: [] });
  });

  it('queues again, with the same job id, the import of a cluster whose job Redis lost', async () => {
    const { uid, jobId } = await create('lost');
    await (await bull.getJob(jobId))!.remove();
    expect((await reconciler.sweep()).requeued).toEqual(['lost']);
    expect((await bull.getJob(jobId))?.data).toEqual({ name: 'lost', uid });
    // Now in the queue: nothing more to do.
    expect((await reconciler.sweep()).requeued).toEqual([]);
  });
});
