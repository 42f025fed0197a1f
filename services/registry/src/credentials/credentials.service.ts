import { Injectable } from '@nestjs/common';
import { Cluster, ClusterCredentials, ClusterErrors } from '@flotilla/domain';
import { ClustersRepository } from '../clusters/store/clusters.repository';
import { CredentialVault } from './credential-vault';
import { CredentialsBatch, batchNames, packBatch } from './credentials-batch';

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

  /**
   * The credentials of many clusters (BatchGetClusterCredentials): one query and one decryption
   * pass for up to MAX_BATCH_NAMES clusters, instead of two queries and a gRPC call per cluster.
   */
  async forClusters(names: readonly string[] | undefined): Promise<CredentialsBatch> {
    const wanted = batchNames(names);
    return packBatch(wanted, await this.vault.openMany(wanted));
  }
}
