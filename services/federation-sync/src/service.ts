import type { WorkerServiceSpec } from '@flotilla/service-kit';
import { FederationSyncService } from './federation-sync.service';
import { memberPoolProvider } from './member-pool.provider';
import { registryPortProvider } from './registry/registry-port';

/**
 * federation-sync: places federated objects on members and keeps them there (ADR 0035,
 * docs/federation.md). It consumes no jobs: each replica follows the stored federated objects,
 * the IAM bindings and the fleet, takes its share of objects by rendezvous hashing over the live
 * replicas in Redis, and applies through per-member appliers with bounded concurrency and QPS.
 */
export const FEDERATION_SYNC: WorkerServiceSpec = {
  name: 'federation-sync',
  ports: { http: 8084, grpc: 50054 },
  declaredJobs: [],
  handlers: [],
  providers: [FederationSyncService, registryPortProvider, memberPoolProvider],
};
