import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { importCandidateFromProto, importV1 } from '@flotilla/contracts';
import { ImportApiService } from './import-api.service';

const S = importV1.IMPORT_SERVICE_NAME;

/**
 * flotilla.import.v1.ImportService (internal; callers are checked by service-kit's interceptor
 * against PROVIDER_IMPORT.callers): maps messages in and out of ImportApiService.
 */
@Controller()
export class ImportApiController implements importV1.ImportServiceController {
  constructor(private readonly api: ImportApiService) {}

  @GrpcMethod(S, 'CheckKubeconfig')
  async checkKubeconfig(r: importV1.CheckKubeconfigRequest): Promise<importV1.CheckKubeconfigResponse> {
    return this.api.check(importCandidateFromProto(r.cluster));
  }

  @GrpcMethod(S, 'ValidateCluster')
  async validateCluster(r: importV1.ValidateClusterRequest): Promise<importV1.ValidateClusterResponse> {
    const { checks, facts } = await this.api.validate(importCandidateFromProto(r.cluster));
    return { checks, server: facts.resolved.server, kubernetesVersion: facts.gitVersion, nodeCount: facts.nodes.length, kubeSystemUid: facts.kubeSystemUid };
  }

  @GrpcMethod(S, 'RotateCredentials')
  async rotateCredentials(r: importV1.RotateCredentialsRequest): Promise<importV1.RotateCredentialsResponse> {
    const { cluster, checks } = await this.api.rotate(r.name ?? '', r.kubeconfig ?? '');
    return { resourceVersion: cluster.metadata.resourceVersion ?? '', checks };
  }
}
