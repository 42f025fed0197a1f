import type { WorkerServiceSpec } from '@flotilla/service-kit';

/**
 * federation-sync: placement, overrides, apply, drift and status aggregation of federated
 * resources (a later issue). Until then this process runs its gRPC, health and metrics surfaces only.
 */
export const FEDERATION_SYNC: WorkerServiceSpec = {
  name: 'federation-sync',
  ports: { http: 8084, grpc: 50054 },
  declaredJobs: [],
  handlers: [],
};
