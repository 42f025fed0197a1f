import type { WorkerServiceSpec } from '@flotilla/service-kit';

/**
 * provider-import: import, validation and removal jobs. The import pipeline (validation
 * checks, provider adapters, credential preparation) and removal land with issue 4; until
 * then this process runs its gRPC, health and metrics surfaces and consumes no queue, so
 * queued imports wait in Redis rather than being taken by a stand-in.
 */
export const PROVIDER_IMPORT: WorkerServiceSpec = {
  name: 'provider-import',
  ports: { http: 8082, grpc: 50052 },
  declaredJobs: [],
  handlers: [],
};
