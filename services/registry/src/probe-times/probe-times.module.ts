import { Module } from '@nestjs/common';
import { CONFIG } from '@flotilla/service-kit';
import { ClusterStoreModule } from '../clusters/store/cluster-store.module';
import { RegistryConfig } from '../config';
import { LastProbeTimes } from './last-probe-times';
import { ProbeTimesGrpcController } from './probe-times.grpc.controller';
import { PROBE_TIMES_KEY, ProbeTimesRepository, probeTimesKey } from './probe-times.repository';
import { ProbeTimesService } from './probe-times.service';

/** Last probe times (a Redis hash, ADR 0021): recorded by the health probe, served as status.lastProbeTime. */
@Module({
  imports: [ClusterStoreModule],
  controllers: [ProbeTimesGrpcController],
  providers: [
    {
      provide: PROBE_TIMES_KEY,
      inject: [CONFIG],
      useFactory: (config: RegistryConfig) => probeTimesKey(config.FLOTILLA_QUEUE_PREFIX),
    },
    ProbeTimesRepository,
    ProbeTimesService,
    LastProbeTimes,
  ],
  exports: [LastProbeTimes],
})
export class ProbeTimesModule {}
