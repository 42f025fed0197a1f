import { setCondition } from './conditions';

describe('setCondition', () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const t1 = new Date('2026-01-01T00:05:00Z');

  it('moves lastTransitionTime only when the status changes', () => {
    const first = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'ClusterReady' }, t0);
    const same = setCondition(first, { type: 'Ready', status: 'True', reason: 'ClusterReady', message: 'still fine' }, t1);
    expect(same[0]).toMatchObject({ lastTransitionTime: '2026-01-01T00:00:00Z', lastUpdateTime: '2026-01-01T00:05:00Z', message: 'still fine' });
    const flipped = setCondition(same, { type: 'Ready', status: 'False', reason: 'ClusterNotReachable' }, t1);
    expect(flipped[0]).toMatchObject({ status: 'False', lastTransitionTime: '2026-01-01T00:05:00Z' });
  });

  it('keeps other conditions and their order', () => {
    const list = setCondition(setCondition(undefined, { type: 'Initialized', status: 'False' }, t0), { type: 'Ready', status: 'Unknown' }, t0);
    const next = setCondition(list, { type: 'Initialized', status: 'True' }, t1);
    expect(next.map((c) => `${c.type}=${c.status}`)).toEqual(['Initialized=True', 'Ready=Unknown']);
    expect(list[0]!.status).toBe('False');
  });
});
