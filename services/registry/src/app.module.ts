import { DynamicModule, Module } from '@nestjs/common';
import { ServiceKitModule, ServiceRuntime } from '@flotilla/service-kit';
import { RegistryConfig } from './config';
import { RegistryModule } from './registry.module';

@Module({})
export class AppModule {
  static create(runtime: ServiceRuntime, config: RegistryConfig): DynamicModule {
    return { module: AppModule, imports: [ServiceKitModule.forRoot(runtime, config), RegistryModule] };
  }
}
