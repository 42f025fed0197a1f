import { DynamicModule, Global, Module } from '@nestjs/common';
import { GrpcHealthController } from './health.controller';
import { CONFIG, RUNTIME, ServiceRuntime } from './runtime';
import { WorkerStatusController } from './worker-status.controller';

/** Provides the runtime and config to a service, and serves gRPC health and worker status. */
@Global()
@Module({})
export class ServiceKitModule {
  static forRoot(runtime: ServiceRuntime, config: unknown): DynamicModule {
    return {
      module: ServiceKitModule,
      controllers: [GrpcHealthController, WorkerStatusController],
      providers: [
        { provide: RUNTIME, useValue: runtime },
        { provide: CONFIG, useValue: config },
      ],
      exports: [RUNTIME, CONFIG],
    };
  }
}
