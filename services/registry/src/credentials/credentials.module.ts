import { Module } from '@nestjs/common';
import { SecretBox } from '@flotilla/persistence';
import { CONFIG } from '@flotilla/service-kit';
import { ClusterStoreModule } from '../clusters/store/cluster-store.module';
import { RegistryConfig } from '../config';
import { ObjectsModule } from '../objects/objects.module';
import { CiphertextStores } from './ciphertext-stores';
import { CredentialVault, SECRET_BOX } from './credential-vault';
import { CredentialsAdminGrpcController } from './credentials-admin.grpc.controller';
import { CredentialsGrpcController } from './credentials.grpc.controller';
import { CredentialsReaderGrpcController } from './credentials-reader.grpc.controller';
import { CredentialsRepository } from './credentials.repository';
import { CredentialsService } from './credentials.service';
import { ReencryptionService } from './reencryption.service';
import { ReencryptionsRepository } from './reencryptions.repository';

/** Cluster credentials: encrypted at rest, written with their cluster, read by internal callers only; re-encrypted to the current key on the admin's request. */
@Module({
  imports: [ClusterStoreModule, ObjectsModule],
  controllers: [CredentialsGrpcController, CredentialsReaderGrpcController, CredentialsAdminGrpcController],
  providers: [
    {
      provide: SECRET_BOX,
      inject: [CONFIG],
      useFactory: (config: RegistryConfig) => SecretBox.fromSpec(config.FLOTILLA_ENCRYPTION_KEYS),
    },
    CredentialsRepository,
    CredentialVault,
    CiphertextStores,
    CredentialsService,
    ReencryptionsRepository,
    ReencryptionService,
  ],
  exports: [CredentialVault],
})
export class CredentialsModule {}
