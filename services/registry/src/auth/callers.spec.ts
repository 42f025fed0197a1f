import { credentialsV1, eventsV1, objectsV1, registryV1 } from '@flotilla/contracts';
import { InternalIdentity as Id, grpcPath } from '@flotilla/service-kit';
import { REGISTRY_CALLERS } from './callers';

const objects = (m: string) => grpcPath(objectsV1.PROTOBUF_PACKAGE, objectsV1.OBJECT_SERVICE_NAME, m);
const registry = (m: string) => grpcPath(registryV1.PROTOBUF_PACKAGE, registryV1.REGISTRY_SERVICE_NAME, m);
const allowed = (path: string): readonly string[] => {
  const entry = REGISTRY_CALLERS[path];
  if (!Array.isArray(entry)) throw new Error(`${path} is not declared as a list of identities`);
  return entry;
};
/** Every identity but the operator (which may call every declared method, by service-kit's design). */
const EVERYONE = Object.values(Id).filter((i) => i !== Id.Operator);

describe('the registry caller table for federation (issue 15)', () => {
  const OBJECT_METHODS = ['CreateObject', 'UpdateObject', 'DeleteObject', 'GetObject', 'ListObjects', 'ListObjectChanges', 'UnsealObject'];

  it('declares every ObjectService method, each open to federation-sync', () => {
    for (const m of OBJECT_METHODS) expect(allowed(objects(m))).toContain(Id.FederationSync);
  });

  it('unseals for federation-sync alone: the gateway, the workers and the tunnel are refused', () => {
    expect(allowed(objects('UnsealObject'))).toEqual([Id.FederationSync]);
    for (const id of EVERYONE.filter((i) => i !== Id.FederationSync)) expect(allowed(objects('UnsealObject'))).not.toContain(id);
  });

  it('keeps object writes from provider-import, health-probe and the tunnel', () => {
    for (const m of ['CreateObject', 'UpdateObject', 'DeleteObject']) {
      expect([...allowed(objects(m))].sort()).toEqual([Id.FederationSync, Id.Gateway].sort());
    }
  });

  it('lets federation-sync read and watch clusters, record cluster events and batch-read credentials, and nothing it does not need', () => {
    for (const m of ['ListClusters', 'WatchClusters', 'GetCluster']) expect(allowed(registry(m))).toContain(Id.FederationSync);
    expect(allowed(grpcPath(eventsV1.PROTOBUF_PACKAGE, eventsV1.CLUSTEREVENT_SERVICE_NAME, 'RecordClusterEvent'))).toContain(Id.FederationSync);
    const batch = grpcPath(credentialsV1.PROTOBUF_PACKAGE, credentialsV1.CREDENTIALSREADER_SERVICE_NAME, 'BatchGetClusterCredentials');
    expect([...allowed(batch)].sort()).toEqual([Id.FederationSync, Id.HealthProbe].sort());
    for (const m of ['CreateCluster', 'UpdateCluster', 'PatchCluster', 'DeleteCluster', 'UpdateClusterStatus', 'UpdateClusterStatuses', 'RecordProbeTimes']) {
      expect(allowed(registry(m))).not.toContain(Id.FederationSync);
    }
    expect(allowed(grpcPath(eventsV1.PROTOBUF_PACKAGE, eventsV1.CLUSTEREVENT_SERVICE_NAME, 'ListClusterEvents'))).not.toContain(Id.FederationSync);
  });
});

describe('the registry caller table for status writes', () => {
  it('lets only health-probe write statuses in batches (not the gateway: REST cannot set Initialized=True on an unchecked cluster)', () => {
    expect(allowed(registry('UpdateClusterStatuses'))).toEqual([Id.HealthProbe]);
  });
});
