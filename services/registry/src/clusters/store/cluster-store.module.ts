import { Module } from '@nestjs/common';
import { ClusterChangesRepository } from './cluster-changes.repository';
import { ClustersRepository } from './clusters.repository';

/**
 * The cluster records and their change log. The lowest layer of the clusters feature, so the
 * credentials and probe-times modules can look clusters up without depending on ClustersModule
 * (which depends on them).
 */
@Module({
  providers: [ClustersRepository, ClusterChangesRepository],
  exports: [ClustersRepository, ClusterChangesRepository],
})
export class ClusterStoreModule {}
