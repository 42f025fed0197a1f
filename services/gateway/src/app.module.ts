import { DynamicModule, Module } from '@nestjs/common';
import { ServiceKitModule, ServiceRuntime } from '@flotilla/service-kit';
import { ADMIN_TOKEN } from './auth/auth.providers';
import { GatewayConfig } from './config';
import { GatewayModule } from './gateway.module';

/** Carries the bootstrap admin token to the authenticator without it entering the shown config. */
@Module({})
class AdminTokenModule {}

@Module({})
export class AppModule {
  static create(runtime: ServiceRuntime, config: GatewayConfig, adminToken: string): DynamicModule {
    const adminTokenModule: DynamicModule = { module: AdminTokenModule, global: true, providers: [{ provide: ADMIN_TOKEN, useValue: adminToken }], exports: [ADMIN_TOKEN] };
    return { module: AppModule, imports: [ServiceKitModule.forRoot(runtime, config), adminTokenModule, GatewayModule] };
  }
}
