import type { Provider } from '@nestjs/common';
import { OBJECT_STORE, ObjectStore } from '@flotilla/clients';
import { FEDERATED_KINDS, REPLICA_SCHEDULING_PREFERENCE } from '@flotilla/domain';
import { CONFIG, RUNTIME, ServiceRuntime } from '@flotilla/service-kit';
import { CHANGE_FEED, ChangeFeed } from '../resources/change-feed';
import { ResourceApiService } from '../resources/resource-api.service';
import type { ResourceKind } from '../resources/resource-kind';
import { RESOURCE_AUTHORIZER, ResourceAuthorizer, ResourceRoutes } from '../resources/resource-routes';
import { federatedKind } from './federated-kinds';
import { federationLimits } from './federation-config';
import { FederationReads } from './federation-reads';
import { namespaceKind } from './namespace-kind';
import { FederatedObjectCounts } from './object-counts';
import { rspKind } from './rsp-kind';
import { FEDERATION_FLEET, FEDERATION_ROLES, FederationWriteGuard, FleetView, RoleSource } from './write-authorization';

export const FEDERATION_KINDS = Symbol('gateway.federation.kinds');
export const FEDERATION_ROUTES = Symbol('gateway.federation.routes');
export const FEDERATION_READS = Symbol('gateway.federation.reads');
const FEDERATION_COUNTS = Symbol('gateway.federation.counts');
const FEDERATION_GUARD = Symbol('gateway.federation.guard');

/**
 * Federation in the gateway (issue 15): host namespaces, every federated kind and
 * ReplicaSchedulingPreference over the generic resource layer, plus the events and orphans views.
 * Needs OBJECT_STORE and CHANGE_FEED (IamModule, global), and FEDERATION_ROLES (the Authorizer) and
 * FEDERATION_FLEET (the ClusterMirror) from the including module. main.ts mounts
 * `app.get(FEDERATION_ROUTES).router()` and `app.get(FEDERATION_READS).router()`, and lists
 * FEDERATION_KINDS in discovery.
 */
export const federationProviders: Provider[] = [
  {
    provide: FEDERATION_GUARD,
    inject: [FEDERATION_ROLES, FEDERATION_FLEET],
    useFactory: (roles: RoleSource, fleet: FleetView) => new FederationWriteGuard(roles, fleet),
  },
  {
    provide: FEDERATION_COUNTS,
    inject: [CHANGE_FEED, RUNTIME],
    useFactory: (feed: ChangeFeed, runtime: ServiceRuntime) => {
      const counts = new FederatedObjectCounts(feed, [...FEDERATED_KINDS, REPLICA_SCHEDULING_PREFERENCE].map((k) => k.storeKey));
      counts.start();
      runtime.shutdown.onClose('federation-counts', async () => counts.stop());
      return counts;
    },
  },
  {
    provide: FEDERATION_KINDS,
    inject: [CONFIG, FEDERATION_GUARD, FEDERATION_COUNTS],
    useFactory: (config: Record<string, unknown>, guard: FederationWriteGuard, counts: FederatedObjectCounts): ResourceKind[] => {
      const deps = { limits: federationLimits(config), guard, counts };
      return [namespaceKind, ...FEDERATED_KINDS.map((info) => federatedKind(info, deps)), rspKind(guard)];
    },
  },
  {
    provide: FEDERATION_ROUTES,
    inject: [OBJECT_STORE, CHANGE_FEED, RUNTIME, FEDERATION_KINDS, { token: RESOURCE_AUTHORIZER, optional: true }],
    useFactory: (store: ObjectStore, feed: ChangeFeed, runtime: ServiceRuntime, kinds: ResourceKind[], authorizer?: ResourceAuthorizer) =>
      new ResourceRoutes(new ResourceApiService(store, feed), kinds, feed, store, runtime, authorizer),
  },
  {
    provide: FEDERATION_READS,
    inject: [OBJECT_STORE],
    useFactory: (store: ObjectStore) => new FederationReads(store),
  },
];
