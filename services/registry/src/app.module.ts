import { DynamicModule, Module } from '@nestjs/common';
import { ServiceKitModule, ServiceRuntime } from '@flotilla/service-kit';
import { RegistryConfig } from './config';
import { RegistryModule, RegistryOptions } from './registry.module';

@Module({})
export class AppModule {
  static create(runtime: ServiceRuntime, config: RegistryConfig, options: RegistryOptions = {}): DynamicModule {
    return { module: AppModule, imports: [ServiceKitModule.forRoot(runtime, config), RegistryModule.forRoot(options)] };
  }
}
