import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { registryV1 } from '@flotilla/contracts';
import { CredentialsService } from './credentials.service';

const S = registryV1.REGISTRY_SERVICE_NAME;

/** RegistryService.GetClusterCredentials (internal): maps messages in and out. */
@Controller()
export class CredentialsGrpcController implements Pick<registryV1.RegistryServiceController, 'getClusterCredentials'> {
  constructor(private readonly credentials: CredentialsService) {}

  @GrpcMethod(S, 'GetClusterCredentials')
  async getClusterCredentials(r: registryV1.GetClusterCredentialsRequest): Promise<registryV1.ClusterCredentials> {
    const { cluster, credentials, keyId } = await this.credentials.forCluster(r.name ?? '');
    return { name: cluster.metadata.name, uid: cluster.metadata.uid ?? '', kubeconfig: credentials.kubeconfig ?? '', token: credentials.token ?? '', keyId };
  }
}
