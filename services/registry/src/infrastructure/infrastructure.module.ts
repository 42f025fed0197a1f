import { DynamicModule, Global, Inject, Module, OnApplicationBootstrap } from '@nestjs/common';
import { UnitOfWork } from '@flotilla/persistence';
import { CONFIG, RUNTIME, ServiceRuntime, createRedis, redisReadinessCheck } from '@flotilla/service-kit';
import { RegistryConfig } from '../config';
import { ChangeListener } from './change-listener';
import { Clock, systemClock } from './clock';
import { openRegistryDatabase } from './database';
import { PruneScheduler } from './prune-scheduler';
import { CHANGE_LISTENER, CLOCK, REDIS, REGISTRY_DATA_SOURCE } from './tokens';

export interface InfrastructureOptions {
  /** Every TypeORM entity of the feature modules. */
  entities: Parameters<typeof openRegistryDatabase>[2];
  /** The time source of the records (tests move it forward). */
  clock?: Clock;
}

/**
 * What every feature module stands on: the database and its unit of work, Redis, the
 * LISTEN/NOTIFY connection, the clock and the prune timer. Global, as a database module is in
 * Nest: feature modules inject these without importing it.
 */
@Global()
@Module({})
export class InfrastructureModule implements OnApplicationBootstrap {
  static forRoot(options: InfrastructureOptions): DynamicModule {
    return {
      module: InfrastructureModule,
      providers: [
        {
          provide: REGISTRY_DATA_SOURCE,
          inject: [CONFIG, RUNTIME],
          useFactory: (config: RegistryConfig, runtime: ServiceRuntime) => openRegistryDatabase(config, runtime, options.entities),
        },
        {
          provide: UnitOfWork,
          inject: [REGISTRY_DATA_SOURCE],
          useFactory: (db: ConstructorParameters<typeof UnitOfWork>[0]) => new UnitOfWork(db),
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
        {
          provide: CHANGE_LISTENER,
          // After the database: the migrations have run by then.
          inject: [CONFIG, RUNTIME, REGISTRY_DATA_SOURCE],
          useFactory: (config: RegistryConfig, runtime: ServiceRuntime) => {
            const listener = new ChangeListener(config.DATABASE_URL, runtime.logger);
            runtime.shutdown.onClose('change-listener', () => listener.close());
            return listener;
          },
        },
        {
          provide: PruneScheduler,
          inject: [RUNTIME],
          useFactory: (runtime: ServiceRuntime) => {
            const scheduler = new PruneScheduler(runtime.logger);
            runtime.shutdown.onDrain('prune-timer', async () => scheduler.stop());
            return scheduler;
          },
        },
        { provide: CLOCK, useValue: options.clock ?? systemClock },
      ],
      exports: [REGISTRY_DATA_SOURCE, UnitOfWork, REDIS, CHANGE_LISTENER, PruneScheduler, CLOCK],
    };
  }

  constructor(
    @Inject(CHANGE_LISTENER) private readonly listener: ChangeListener,
    private readonly prune: PruneScheduler,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.listener.start();
    this.prune.start();
  }
}
