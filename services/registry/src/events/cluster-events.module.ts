import { Module } from '@nestjs/common';
import { ClusterEventsGrpcController } from './cluster-events.grpc.controller';
import { ClusterEventsRepository } from './cluster-events.repository';
import { ClusterEventsService } from './cluster-events.service';

/** Cluster events (health transitions): recorded by health-probe (internal), listed through the gateway. */
@Module({
  controllers: [ClusterEventsGrpcController],
  providers: [ClusterEventsRepository, ClusterEventsService],
})
export class ClusterEventsModule {}
