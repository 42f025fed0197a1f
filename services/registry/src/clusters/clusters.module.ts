import { Module } from '@nestjs/common';
import { CONFIG } from '@flotilla/service-kit';
import { RegistryConfig } from '../config';
import { CredentialsModule } from '../credentials/credentials.module';
import { OutboxModule } from '../outbox/outbox.module';
import { ProbeTimesModule } from '../probe-times/probe-times.module';
import { ClusterWatchService, WATCH_TUNING, WatchTuning } from './cluster-watch.service';
import { ClustersGrpcController } from './clusters.grpc.controller';
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
    ClustersService,
    ClusterWatchService,
  ],
})
export class ClustersModule {}
