import { DynamicModule, Inject, Injectable, Module, OnApplicationBootstrap, Provider, Type } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { baseConfigShape, configParts, internalSecurityConfigShape, loadConfig } from '@flotilla/config';
import { JobHandler, WorkerHost, checkHandlers } from '@flotilla/queue';
import { createRedis } from './redis';
import { grpcReadinessCheck, redisReadinessCheck } from './readiness';
import { REGISTRY_CLIENT, RegistryClient } from '@flotilla/clients';
import { CONFIG, RUNTIME, ServiceRuntime } from './runtime';
import { ServiceKitModule } from './service-kit.module';
import { WORKER_HOST } from './worker-status.controller';
import { RunningService, startService } from './bootstrap';
import type { GrpcPackage } from './grpc';
import type { CallerTable } from './internal-auth';
import { z } from 'zod';

export const REDIS = Symbol('flotilla.redis');
export const JOB_HANDLERS = Symbol('flotilla.job-handlers');

/** The configuration every queue-driven service shares. */
export function workerConfigShape(defaults: { http: number; grpc: number }) {
  return {
    ...baseConfigShape,
    ...internalSecurityConfigShape,
    /** This service's own internal token: its identity when it calls the registry (docs/security.md). */
    FLOTILLA_INTERNAL_TOKEN: configParts.internalToken,
    HTTP_PORT: configParts.port(defaults.http),
    GRPC_PORT: configParts.port(defaults.grpc),
    REDIS_URL: configParts.redisUrl,
    FLOTILLA_QUEUE_PREFIX: configParts.queuePrefix,
    REGISTRY_GRPC_URL: configParts.grpcTarget.default('127.0.0.1:50051'),
    WORKER_CONCURRENCY: z.coerce.number().int().min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(10),
  };
}

export type WorkerConfig = z.infer<z.ZodObject<ReturnType<typeof workerConfigShape>>>;

export interface WorkerServiceSpec {
  name: string;
  ports: { http: number; grpc: number };
  /** Every job this service consumes; each needs exactly one handler (checked at start). */
  declaredJobs: readonly string[];
  /** Nest providers implementing JobHandler, one per declared job. */
  handlers: Type<JobHandler<unknown>>[];
  /** Further providers of the service (its domain services and drivers). */
  providers?: Provider[];
  controllers?: Type<unknown>[];
  /** The service's own gRPC packages, served by its controllers. */
  grpcPackages?: GrpcPackage[];
  /** Who may call each method of those packages; a method left out is refused to everyone. */
  callers?: CallerTable;
}

/** Starts the worker host once the application is up; drains it first on shutdown. */
@Injectable()
class WorkerLifecycle implements OnApplicationBootstrap {
  constructor(
    @Inject(WORKER_HOST) private readonly host: WorkerHost,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
  ) {
    runtime.shutdown.onDrain('workers', () => host.close());
  }

  onApplicationBootstrap(): void {
    this.host.start();
  }
}

function workerModule(spec: WorkerServiceSpec): DynamicModule {
  @Module({})
  class WorkerModule {}
  return {
    module: WorkerModule,
    controllers: spec.controllers ?? [],
    providers: [
      ...(spec.providers ?? []),
      ...spec.handlers,
      {
        provide: REDIS,
        inject: [CONFIG, RUNTIME],
        useFactory: (config: WorkerConfig, runtime: ServiceRuntime) => {
          const redis = createRedis(config.REDIS_URL, `flotilla-${spec.name}`);
          runtime.health.register(redisReadinessCheck(redis));
          runtime.shutdown.onClose('redis', async () => void (await redis.quit().catch(() => undefined)));
          return redis;
        },
      },
      {
        provide: REGISTRY_CLIENT,
        inject: [CONFIG, RUNTIME],
        useFactory: (config: WorkerConfig, runtime: ServiceRuntime) => {
          const client = new RegistryClient(config.REGISTRY_GRPC_URL, config.FLOTILLA_INTERNAL_TOKEN);
          runtime.health.register(grpcReadinessCheck('registry', config.REGISTRY_GRPC_URL));
          runtime.shutdown.onClose('registry-client', async () => client.close());
          return client;
        },
      },
      {
        provide: JOB_HANDLERS,
        inject: spec.handlers,
        useFactory: (...handlers: JobHandler<unknown>[]) => {
          checkHandlers(spec.name, spec.declaredJobs, handlers);
          return handlers;
        },
      },
      {
        provide: WORKER_HOST,
        inject: [REDIS, CONFIG, RUNTIME, JOB_HANDLERS],
        useFactory: (redis: Redis, config: WorkerConfig, runtime: ServiceRuntime, handlers: JobHandler<unknown>[]) => {
          const concurrency: Record<string, number> = {};
          for (const h of handlers) concurrency[h.definition.queue] = config.WORKER_CONCURRENCY;
          return new WorkerHost(redis, config.FLOTILLA_QUEUE_PREFIX, handlers, {
            onOutcome: (queue, job, outcome, error) => {
              runtime.metrics.jobs.inc({ queue, job, outcome });
              if (outcome !== 'completed') runtime.logger.warn({ queue, job, outcome, err: error?.message }, 'job did not complete');
            },
          }, concurrency);
        },
      },
      WorkerLifecycle,
    ],
    exports: [REDIS, REGISTRY_CLIENT, WORKER_HOST],
  };
}

/** Loads a worker service's config, then starts it with gRPC, health, metrics and its queue workers. */
export async function startWorkerService<S extends ReturnType<typeof workerConfigShape>>(
  spec: WorkerServiceSpec,
  shape: S,
  env: NodeJS.ProcessEnv,
): Promise<{ running: RunningService; runtime: ServiceRuntime; timeoutMs: number }> {
  const config = loadConfig(spec.name, shape, env) as WorkerConfig;
  const runtime = new ServiceRuntime(spec.name, config.LOG_LEVEL);
  @Module({})
  class AppModule {}
  const running = await startService({
    runtime,
    module: { module: AppModule, imports: [ServiceKitModule.forRoot(runtime, config), workerModule(spec)] },
    config: config as unknown as Record<string, unknown>,
    http: { host: config.HTTP_HOST, port: config.HTTP_PORT },
    grpc: { host: config.GRPC_HOST, port: config.GRPC_PORT, packages: spec.grpcPackages ?? [] },
    callers: spec.callers,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  });
  return { running, runtime, timeoutMs: config.SHUTDOWN_TIMEOUT_MS };
}
