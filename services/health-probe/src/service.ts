import type { WorkerServiceSpec } from '@flotilla/service-kit';
import { ProbeService } from './probe.service';
import { registryPortProvider } from './registry-port';

/**
 * health-probe: keeps every member's status true (docs/health.md). It consumes no jobs: each
 * replica learns the fleet from the registry, takes its share by rendezvous hashing over the
 * live replicas in Redis, and probes on an in-process timer wheel.
 */
export const HEALTH_PROBE: WorkerServiceSpec = {
  name: 'health-probe',
  ports: { http: 8083, grpc: 50053 },
  declaredJobs: [],
  handlers: [],
  providers: [ProbeService, registryPortProvider],
};
