import { clustersCell, propagationCell, readyClustersCell } from './federated-columns';

describe('federated kinds\' table cells', () => {
  const fd = (status: unknown) => ({ metadata: { name: 'web' }, status });

  it('PROPAGATION: the condition\'s status, with its reason when not True', () => {
    expect(propagationCell(fd({ conditions: [{ type: 'Propagation', status: 'True', reason: 'Propagated' }] }))).toBe('True');
    expect(propagationCell(fd({ conditions: [{ type: 'Propagation', status: 'False', reason: 'ApplyFailed' }] }))).toBe('False (ApplyFailed)');
    expect(propagationCell(fd(undefined))).toBe('Unknown');
  });

  it('READY counts clusters applied with every replica ready, out of those placed (removed and orphaned ones left out)', () => {
    const status = {
      clusters: [
        { name: 'a', status: 'Applied', replicas: 2, readyReplicas: 2 },
        { name: 'b', status: 'Applied', replicas: 2, readyReplicas: 1 },
        { name: 'c', status: 'Failed' },
        { name: 'd', status: 'Orphaned' },
        { name: 'e', status: 'Applied' },
      ],
    };
    expect(readyClustersCell(fd(status))).toBe('2/4');
    expect(clustersCell(fd(status))).toBe('a,b,c,e');
    expect(readyClustersCell(fd({}))).toBe('0/0');
    expect(clustersCell(fd({}))).toBe('<none>');
  });

  it('CLUSTERS stays bounded for large placements', () => {
    const clusters = Array.from({ length: 13 }, (_, i) => ({ name: `c${i}`, status: 'Applied' }));
    expect(clustersCell(fd({ clusters }))).toBe('c0,c1,c2,c3,c4,c5,c6,c7,c8,c9,+3');
  });
});
