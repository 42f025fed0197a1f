import { Module } from '@nestjs/common';
import { CONFIG } from '@flotilla/service-kit';
import { RegistryConfig } from '../config';
import { CredentialsModule } from '../credentials/credentials.module';
import { OutboxModule } from '../outbox/outbox.module';
import { ProbeTimesModule } from '../probe-times/probe-times.module';
import { ClusterWatchService, WATCH_TUNING, WatchTuning } from './cluster-watch.service';
import { IMPORT_JOB_FEED_TUNING, ImportJobFeed, ImportJobFeedTuning } from './import-job-feed';
import { ImportJobVersionsRepository } from './store/import-job-versions.repository';
import { WATCH_LIMITS, watchLimitsFrom } from './watch-limits';
import { ClustersGrpcController } from './clusters.grpc.controller';
import { ClusterStatusService } from './cluster-status.service';
import { ClustersService } from './clusters.service';
import { ClusterStoreModule } from './store/cluster-store.module';

/**
 * Clusters: create, read, update, patch, delete with finalizers, status, list and watch.
 * A write stores the record, its credentials (CredentialsModule), its change-log row and its
 * job (OutboxModule) in one unit of work; reads carry the last probe time (ProbeTimesModule).
 */
@Module({
  imports: [ClusterStoreModule, CredentialsModule, OutboxModule, ProbeTimesModule],
  controllers: [ClustersGrpcController],
  providers: [
    {
      provide: WATCH_TUNING,
      inject: [CONFIG],
      useFactory: (config: RegistryConfig): WatchTuning => ({
        pollMs: config.WATCH_POLL_MS,
        bookmarkMs: config.WATCH_BOOKMARK_MS,
        ringSize: 2000,
        retentionSeconds: config.WATCH_RETENTION_SECONDS,
      }),
    },
    { provide: WATCH_LIMITS, inject: [CONFIG], useFactory: (config: RegistryConfig) => watchLimitsFrom(config) },
    { provide: IMPORT_JOB_FEED_TUNING, inject: [CONFIG], useFactory: (config: RegistryConfig): ImportJobFeedTuning => ({ pollMs: config.WATCH_POLL_MS }) },
    ImportJobVersionsRepository,
    ImportJobFeed,
    ClustersService,
    ClusterStatusService,
    ClusterWatchService,
  ],
})
export class ClustersModule {}
