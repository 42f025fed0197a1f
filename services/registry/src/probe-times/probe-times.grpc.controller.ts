import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { registryV1 } from '@flotilla/contracts';
import { ProbeTimesService } from './probe-times.service';

const S = registryV1.REGISTRY_SERVICE_NAME;

/** RegistryService.RecordProbeTimes (internal): maps messages in and out. */
@Controller()
export class ProbeTimesGrpcController implements Pick<registryV1.RegistryServiceController, 'recordProbeTimes'> {
  constructor(private readonly probeTimes: ProbeTimesService) {}

  @GrpcMethod(S, 'RecordProbeTimes')
  async recordProbeTimes(r: registryV1.RecordProbeTimesRequest): Promise<registryV1.RecordProbeTimesResponse> {
    return { recorded: await this.probeTimes.record((r.entries ?? []).map((e) => ({ name: e.name ?? '', time: e.time ?? '' }))) };
  }
}
