import { DynamicModule, Module } from '@nestjs/common';
import { ServiceKitModule, ServiceRuntime } from '@flotilla/service-kit';
import { GatewayConfig } from './config';
import { GatewayModule } from './gateway.module';

@Module({})
export class AppModule {
  static create(runtime: ServiceRuntime, config: GatewayConfig): DynamicModule {
    return { module: AppModule, imports: [ServiceKitModule.forRoot(runtime, config), GatewayModule] };
  }
}
