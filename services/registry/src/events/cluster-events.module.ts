import { Module } from '@nestjs/common';
import { CONFIG } from '@flotilla/service-kit';
import type { RegistryConfig } from '../config';
import { WATCH_LIMITS, watchLimitsFrom } from '../clusters/watch-limits';
import { CLUSTER_EVENT_WATCH_TUNING, ClusterEventHub, ClusterEventWatchTuning } from './cluster-event-hub';
import { ClusterEventsGrpcController } from './cluster-events.grpc.controller';
import { ClusterEventsRepository } from './cluster-events.repository';
import { ClusterEventsService } from './cluster-events.service';

/**
 * Cluster events: recorded by health-probe, provider-import and federation-sync (internal),
 * listed and watched (WatchClusterEvents, pushed by LISTEN/NOTIFY) through the gateway.
 */
@Module({
  controllers: [ClusterEventsGrpcController],
  providers: [
    ClusterEventsRepository,
    ClusterEventsService,
    ClusterEventHub,
    // The clusters watch's settings: the same safety re-read, bookmarks and per-caller bounds.
    { provide: CLUSTER_EVENT_WATCH_TUNING, inject: [CONFIG], useFactory: (config: RegistryConfig): ClusterEventWatchTuning => ({ pollMs: config.WATCH_POLL_MS, bookmarkMs: config.WATCH_BOOKMARK_MS }) },
    { provide: WATCH_LIMITS, inject: [CONFIG], useFactory: (config: RegistryConfig) => watchLimitsFrom(config) },
  ],
})
export class ClusterEventsModule {}
