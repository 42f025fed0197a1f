import { Inject, Module, OnApplicationBootstrap } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { createDataSource, runMigrations, SecretBox } from '@flotilla/persistence';
import { JobQueue } from '@flotilla/queue';
import { CONFIG, RUNTIME, ServiceRuntime, createRedis, postgresReadinessCheck, redisReadinessCheck } from '@flotilla/service-kit';
import { ChangeListener, CHANGE_LISTENER } from './clusters/change-listener';
import { ClusterChangeEntity, ClusterCredentialEntity, ClusterEntity } from './clusters/cluster.entity';
import { ClusterWatchService, WATCH_TUNING } from './clusters/cluster-watch.service';
import { ClustersGrpcController } from './clusters/clusters.grpc.controller';
import { ClustersRepository, REGISTRY_DATA_SOURCE } from './clusters/clusters.repository';
import { ClustersService, SECRET_BOX } from './clusters/clusters.service';
import { INTERNAL_TOKEN_CHECK, InternalTokenCheck } from './clusters/internal-token';
import { PROBE_TIMES_KEY, PROBE_TIMES_REDIS, ProbeTimesRepository, probeTimesKey } from './clusters/probe-times.repository';
import { RegistryConfig } from './config';
import { REGISTRY_MIGRATIONS } from './migrations';
import { OutboxEntity } from './outbox/outbox.entity';
import { JOB_QUEUE, OutboxRelayService } from './outbox/outbox-relay.service';
import { OutboxRepository } from './outbox/outbox.repository';
import { ImportJobsGrpcController } from './imports/import-jobs.grpc.controller';
import { ImportJobsRepository } from './imports/import-jobs.repository';
import { ImportJobsService } from './imports/import-jobs.service';
import { ClusterEventsGrpcController } from './events/cluster-events.grpc.controller';
import { ClusterEventsRepository } from './events/cluster-events.repository';
import { ClusterEventsService } from './events/cluster-events.service';

const REDIS = Symbol('registry.redis');
const MIGRATION_LOCK_KEY = 0x6d696772; // "migr"

export const REGISTRY_ENTITIES = [ClusterEntity, ClusterCredentialEntity, ClusterChangeEntity, OutboxEntity];

async function openDatabase(config: RegistryConfig, runtime: ServiceRuntime): Promise<DataSource> {
  const db = createDataSource({
    url: config.DATABASE_URL,
    entities: REGISTRY_ENTITIES,
    migrations: REGISTRY_MIGRATIONS,
    applicationName: 'flotilla-registry',
  });
  await db.initialize();
  if (config.MIGRATIONS_RUN === 'true') {
    // Replicas starting together take turns; the second finds nothing to do.
    const runner = db.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      const applied = await runMigrations(db);
      if (applied.length > 0) runtime.logger.info({ migrations: applied }, 'database migrations applied');
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
      await runner.release();
    }
  }
  runtime.health.register(postgresReadinessCheck(db));
  runtime.shutdown.onClose('postgres', () => db.destroy());
  return db;
}

@Module({
  controllers: [ClustersGrpcController, ImportJobsGrpcController, ClusterEventsGrpcController],
  providers: [
    {
      provide: REGISTRY_DATA_SOURCE,
      inject: [CONFIG, RUNTIME],
      useFactory: (config: RegistryConfig, runtime: ServiceRuntime) => openDatabase(config, runtime),
    },
    {
      provide: REDIS,
      inject: [CONFIG, RUNTIME],
      useFactory: (config: RegistryConfig, runtime: ServiceRuntime) => {
        const redis = createRedis(config.REDIS_URL, 'flotilla-registry');
        runtime.health.register(redisReadinessCheck(redis));
        runtime.shutdown.onClose('redis', async () => void (await redis.quit().catch(() => undefined)));
        return redis;
      },
    },
    { provide: PROBE_TIMES_REDIS, useExisting: REDIS },
    {
      provide: PROBE_TIMES_KEY,
      inject: [CONFIG],
      useFactory: (config: RegistryConfig) => probeTimesKey(config.FLOTILLA_QUEUE_PREFIX),
    },
    ProbeTimesRepository,
    {
      provide: JOB_QUEUE,
      inject: [REDIS, CONFIG, RUNTIME],
      useFactory: (redis: Redis, config: RegistryConfig, runtime: ServiceRuntime) => {
        const queue = new JobQueue(redis, config.FLOTILLA_QUEUE_PREFIX);
        runtime.shutdown.onClose('job-queue', () => queue.close());
        return queue;
      },
    },
    {
      provide: CHANGE_LISTENER,
      inject: [CONFIG, RUNTIME, REGISTRY_DATA_SOURCE],
      useFactory: async (config: RegistryConfig, runtime: ServiceRuntime) => {
        const listener = new ChangeListener(config.DATABASE_URL, runtime.logger);
        runtime.shutdown.onClose('change-listener', () => listener.close());
        return listener;
      },
    },
    {
      provide: SECRET_BOX,
      inject: [CONFIG],
      useFactory: (config: RegistryConfig) => SecretBox.fromSpec(config.FLOTILLA_ENCRYPTION_KEYS),
    },
    {
      provide: INTERNAL_TOKEN_CHECK,
      inject: [CONFIG],
      useFactory: (config: RegistryConfig) => new InternalTokenCheck(config.FLOTILLA_INTERNAL_TOKEN),
    },
    {
      provide: WATCH_TUNING,
      inject: [CONFIG],
      useFactory: (config: RegistryConfig) => ({ pollMs: config.WATCH_POLL_MS, bookmarkMs: config.WATCH_BOOKMARK_MS, ringSize: 2000 }),
    },
    ClustersRepository,
    ClustersService,
    ClusterWatchService,
    OutboxRepository,
    OutboxRelayService,
    ImportJobsRepository,
    ImportJobsService,
    ClusterEventsRepository,
    ClusterEventsService,
  ],
})
export class RegistryModule implements OnApplicationBootstrap {
  private pruneTimer?: NodeJS.Timeout;

  constructor(
    @Inject(CHANGE_LISTENER) private readonly listener: ChangeListener,
    @Inject(CONFIG) private readonly config: RegistryConfig,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly repo: ClustersRepository,
    private readonly outbox: OutboxRepository,
    private readonly importJobs: ImportJobsRepository,
    private readonly clusters: ClustersService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.listener.start();
    const prune = async () => {
      try {
        await this.repo.pruneChanges(this.config.WATCH_RETENTION_SECONDS, 1000);
        await this.outbox.pruneDispatched(24 * 3600);
        await this.importJobs.pruneFinished(this.config.IMPORT_JOB_RETENTION_SECONDS);
        await this.clusters.pruneProbeTimes();
      } catch (error) {
        this.runtime.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'pruning failed');
      }
    };
    this.pruneTimer = setInterval(() => void prune(), 60_000);
    this.pruneTimer.unref();
    this.runtime.shutdown.onDrain('prune-timer', async () => clearInterval(this.pruneTimer));
  }
}
