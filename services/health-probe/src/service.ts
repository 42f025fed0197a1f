import type { WorkerServiceSpec } from '@flotilla/service-kit';

/**
 * health-probe: keeps every member's status true. The prober, scheduler and hysteresis land
 * with issue 5; until then this process runs its gRPC, health and metrics surfaces only.
 */
export const HEALTH_PROBE: WorkerServiceSpec = {
  name: 'health-probe',
  ports: { http: 8083, grpc: 50053 },
  declaredJobs: [],
  handlers: [],
};
