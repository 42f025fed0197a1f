import { Module } from '@nestjs/common';
import { CREDENTIALS_ADMIN_CLIENT, CredentialsAdminClient } from '@flotilla/clients';
import { CONFIG, RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import { GatewayConfig } from '../config';
import { ReencryptionsApiService } from './reencryptions-api.service';
import { ReencryptionsController } from './reencryptions.controller';

/** Administration of the platform itself (admin.flotilla.io): re-encryption of the stored credentials. */
@Module({
  controllers: [ReencryptionsController],
  providers: [
    {
      provide: CREDENTIALS_ADMIN_CLIENT,
      inject: [CONFIG, RUNTIME],
      useFactory: (config: GatewayConfig, runtime: ServiceRuntime) => {
        const client = new CredentialsAdminClient(config.REGISTRY_GRPC_URL);
        runtime.shutdown.onClose('credentials-admin-client', async () => client.close());
        return client;
      },
    },
    ReencryptionsApiService,
  ],
})
export class AdminModule {}
