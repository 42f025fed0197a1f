import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { credentialsV1 } from '@flotilla/contracts';
import { CredentialsService } from './credentials.service';

const S = credentialsV1.CREDENTIALSREADER_SERVICE_NAME;

/** flotilla.registry.credentials.v1.CredentialsReader (internal, health-probe): maps messages in and out. */
@Controller()
export class CredentialsReaderGrpcController implements credentialsV1.CredentialsReaderController {
  constructor(private readonly credentials: CredentialsService) {}

  @GrpcMethod(S, 'BatchGetClusterCredentials')
  async batchGetClusterCredentials(r: credentialsV1.BatchGetClusterCredentialsRequest): Promise<credentialsV1.BatchGetClusterCredentialsResponse> {
    const { items, missing, remaining } = await this.credentials.forClusters(r.names);
    return {
      items: items.map((i) => ({
        name: i.name,
        uid: i.uid,
        kubeconfig: i.credentials.kubeconfig ?? '',
        token: i.credentials.token ?? '',
        keyId: i.keyId,
        error: i.error ?? '',
      })),
      missing,
      remaining,
    };
  }
}
