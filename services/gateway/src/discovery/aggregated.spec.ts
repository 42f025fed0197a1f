import { discoveryEtag, groupDiscoveryList, negotiateDiscovery } from './aggregated';

describe('aggregated discovery', () => {
  it('negotiates as kube-apiserver 1.33: the first acceptable type wins, protobuf and unknown types are 406', () => {
    const kubectl = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
    expect(negotiateDiscovery(kubectl)).toEqual({ aggregated: 'v2' });
    expect(negotiateDiscovery('application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList')).toEqual({ aggregated: 'v2beta1' });
    expect(negotiateDiscovery('application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json')).toEqual({ legacy: true });
    expect(negotiateDiscovery(undefined)).toEqual({ legacy: true });
    expect(negotiateDiscovery('*/*')).toEqual({ legacy: true });
    expect(negotiateDiscovery('application/vnd.kubernetes.protobuf')).toEqual({ notAcceptable: true });
    expect(negotiateDiscovery('text/html')).toEqual({ notAcceptable: true });
  });

  it('nests subresources under their parent and names no core group', () => {
    const list = groupDiscoveryList(
      [
        { group: '', version: 'v1', resources: [{ name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: ['get'], shortNames: ['ns'] }] },
      ],
      'v2',
    );
    expect(list).toEqual({
      kind: 'APIGroupDiscoveryList',
      apiVersion: 'apidiscovery.k8s.io/v2',
      metadata: {},
      items: [
        {
          metadata: { creationTimestamp: null },
          versions: [{ version: 'v1', freshness: 'Current', resources: [{ resource: 'namespaces', responseKind: { group: '', version: 'v1', kind: 'Namespace' }, scope: 'Cluster', singularResource: 'namespace', verbs: ['get'], shortNames: ['ns'] }] }],
        },
      ],
    });
    expect(discoveryEtag('{}')).toMatch(/^"[0-9A-F]{128}"$/);
  });
});
