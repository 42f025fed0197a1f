import { builtinKind } from './builtin-kinds';
import { FEDERATED_KINDS, REPLICA_SCHEDULING_PREFERENCE, federatedKindByKind, federatedKindByPlural, federatedKindByStoreKey } from './kinds';

describe('federated kinds', () => {
  it('has every kind the issue names, with its store key', () => {
    expect(FEDERATED_KINDS.map((k) => k.storeKey).sort()).toEqual(
      [
        'federatednamespaces', 'federatedconfigmaps', 'federatedsecrets', 'federateddeployments', 'federatedstatefulsets', 'federateddaemonsets',
        'federatedjobs', 'federatedservices', 'federatedingresses', 'federatedserviceaccounts', 'federatedclusterroles', 'federatedclusterrolebindings',
      ]
        .map((p) => `${p}.types.kubefed.io`)
        .concat(['federatedobjects.types.flotilla.io', 'clusterfederatedobjects.types.flotilla.io'])
        .sort(),
    );
  });

  it('places the right built-in kinds, and agrees with the built-in table on plural and scope', () => {
    const targets = Object.fromEntries(FEDERATED_KINDS.filter((k) => k.target).map((k) => [k.kind, `${k.target!.apiVersion} ${k.target!.kind}`]));
    expect(targets).toEqual({
      FederatedNamespace: 'v1 Namespace',
      FederatedConfigMap: 'v1 ConfigMap',
      FederatedSecret: 'v1 Secret',
      FederatedDeployment: 'apps/v1 Deployment',
      FederatedStatefulSet: 'apps/v1 StatefulSet',
      FederatedDaemonSet: 'apps/v1 DaemonSet',
      FederatedJob: 'batch/v1 Job',
      FederatedService: 'v1 Service',
      FederatedIngress: 'networking.k8s.io/v1 Ingress',
      FederatedServiceAccount: 'v1 ServiceAccount',
      FederatedClusterRole: 'rbac.authorization.k8s.io/v1 ClusterRole',
      FederatedClusterRoleBinding: 'rbac.authorization.k8s.io/v1 ClusterRoleBinding',
    });
    for (const k of FEDERATED_KINDS.filter((x) => x.target)) {
      const found = builtinKind(k.target!.apiVersion, k.target!.kind);
      expect(found.known && found.versionServed && found.kind).toEqual({ kind: k.target!.kind, plural: k.target!.plural, namespaced: k.target!.namespaced });
    }
  });

  it('scopes: cluster roles and ClusterFederatedObject are cluster-scoped, FederatedNamespace is namespaced but places a cluster-scoped Namespace', () => {
    const scoped = FEDERATED_KINDS.filter((k) => !k.namespaced).map((k) => k.kind);
    expect(scoped.sort()).toEqual(['ClusterFederatedObject', 'FederatedClusterRole', 'FederatedClusterRoleBinding']);
    expect(federatedKindByKind('FederatedNamespace')).toMatchObject({ namespaced: true, target: { namespaced: false } });
  });

  it('marks workloads and the kinds replica scheduling applies to', () => {
    expect(FEDERATED_KINDS.filter((k) => k.workload).map((k) => k.target?.kind)).toEqual(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);
    expect(FEDERATED_KINDS.filter((k) => k.replicaScheduling).map((k) => k.kind)).toEqual(['FederatedDeployment', 'FederatedStatefulSet']);
  });

  it('finds kinds by plural, kind and store key', () => {
    expect(federatedKindByPlural('types.kubefed.io', 'federateddeployments')?.kind).toBe('FederatedDeployment');
    expect(federatedKindByPlural('types.flotilla.io', 'federateddeployments')).toBeUndefined();
    expect(federatedKindByPlural('types.flotilla.io', 'clusterfederatedobjects')).toMatchObject({ kind: 'ClusterFederatedObject', version: 'v1alpha1', listKind: 'ClusterFederatedObjectList' });
    expect(federatedKindByKind('FederatedObject')?.target).toBeUndefined();
    expect(federatedKindByKind('Deployment')).toBeUndefined();
    expect(federatedKindByStoreKey('federatedingresses.types.kubefed.io')?.singular).toBe('federatedingress');
  });

  it('describes ReplicaSchedulingPreference', () => {
    expect(REPLICA_SCHEDULING_PREFERENCE).toMatchObject({
      kind: 'ReplicaSchedulingPreference',
      group: 'scheduling.kubefed.io',
      version: 'v1alpha1',
      storeKey: 'replicaschedulingpreferences.scheduling.kubefed.io',
      namespaced: true,
    });
  });

  it('is frozen', () => {
    expect(Object.isFrozen(FEDERATED_KINDS)).toBe(true);
    expect(Object.isFrozen(FEDERATED_KINDS[0])).toBe(true);
  });
});
