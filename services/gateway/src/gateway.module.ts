import { Module } from '@nestjs/common';
import { CONFIG, REGISTRY_CLIENT, RUNTIME, RegistryClient, ServiceRuntime, grpcReadinessCheck } from '@flotilla/service-kit';
import { ClustersApiService } from './clusters/clusters-api.service';
import { ClustersController } from './clusters/clusters.controller';
import { GatewayConfig } from './config';

@Module({
  controllers: [ClustersController],
  providers: [
    {
      provide: REGISTRY_CLIENT,
      inject: [CONFIG, RUNTIME],
      useFactory: (config: GatewayConfig, runtime: ServiceRuntime) => {
        const client = new RegistryClient(config.REGISTRY_GRPC_URL);
        runtime.health.register(grpcReadinessCheck('registry', config.REGISTRY_GRPC_URL));
        runtime.shutdown.onClose('registry-client', async () => client.close());
        return client;
      },
    },
    ClustersApiService,
  ],
})
export class GatewayModule {}
