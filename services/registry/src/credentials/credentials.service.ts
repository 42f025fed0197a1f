import { Injectable } from '@nestjs/common';
import { Cluster, ClusterCredentials, ClusterErrors } from '@flotilla/domain';
import { ClustersRepository } from '../clusters/store/clusters.repository';
import { CredentialVault } from './credential-vault';

/** Hands a cluster's decrypted credentials to internal callers (the edge checks the internal token). */
@Injectable()
export class CredentialsService {
  constructor(
    private readonly clusters: ClustersRepository,
    private readonly vault: CredentialVault,
  ) {}

  async forCluster(name: string): Promise<{ cluster: Cluster; credentials: ClusterCredentials; keyId: string }> {
    const cluster = await this.clusters.findByName(name);
    if (!cluster) throw ClusterErrors.notFound(name);
    const { credentials, keyId } = await this.vault.open(cluster.metadata.uid!);
    return { cluster, credentials, keyId };
  }
}
