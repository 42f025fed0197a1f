import { Controller, Inject, OnModuleDestroy } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import { Observable, Subject, distinctUntilChanged, from, interval, map, startWith, switchMap, takeUntil } from 'rxjs';
import { healthV1 } from '@flotilla/contracts';
import { RUNTIME, ServiceRuntime } from './runtime';

const WATCH_INTERVAL_MS = 5000;

/** The standard grpc.health.v1.Health service, answering from the same readiness checks as /readyz. */
@Controller()
export class GrpcHealthController implements OnModuleDestroy {
  private readonly stop = new Subject<void>();

  constructor(@Inject(RUNTIME) private readonly runtime: ServiceRuntime) {
    runtime.shutdown.onDrain('grpc-health-watchers', async () => this.stop.next());
  }

  private async status(service: string | undefined): Promise<healthV1.HealthCheckResponse> {
    if (service && service !== '' && !service.startsWith('flotilla.') && !service.startsWith('grpc.')) {
      return { status: 'SERVICE_UNKNOWN' };
    }
    const report = await this.runtime.health.readiness();
    return { status: report.ready ? 'SERVING' : 'NOT_SERVING' };
  }

  @GrpcMethod(healthV1.HEALTH_SERVICE_NAME, 'Check')
  check(request: healthV1.HealthCheckRequest): Promise<healthV1.HealthCheckResponse> {
    return this.status(request.service);
  }

  @GrpcMethod(healthV1.HEALTH_SERVICE_NAME, 'Watch')
  watch(request: healthV1.HealthCheckRequest): Observable<healthV1.HealthCheckResponse> {
    return interval(WATCH_INTERVAL_MS).pipe(
      startWith(0),
      switchMap(() => from(this.status(request.service))),
      map((r) => r),
      distinctUntilChanged((a, b) => a.status === b.status),
      takeUntil(this.stop),
    );
  }

  onModuleDestroy(): void {
    this.stop.next();
  }
}
