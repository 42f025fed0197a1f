import { divideReplicas, validateReplicaSchedulingPreference } from './replicas';

const plan = (m: Map<string, number>) => Object.fromEntries(m);
const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

describe('divideReplicas (kubefed ReplicaSchedulingPreference)', () => {
  it('divides 10 replicas 7/3 by weight', () => {
    const pref = { totalReplicas: 10, clusters: { a: { weight: 7 }, b: { weight: 3 } } };
    expect(plan(divideReplicas(pref, ['a', 'b']))).toEqual({ a: 7, b: 3 });
  });

  it('moves every replica to the other cluster when one is dropped, within its max', () => {
    expect(plan(divideReplicas({ totalReplicas: 10, clusters: { a: { weight: 7 }, b: { weight: 3 } } }, ['b']))).toEqual({ b: 10 });
    expect(plan(divideReplicas({ totalReplicas: 10, clusters: { a: { weight: 7 }, b: { weight: 3, maxReplicas: 6 } } }, ['b']))).toEqual({ b: 6 });
  });

  it('defaults to {"*": {weight: 1}}; shares are rounded up in name order, as kubefed\'s planner does', () => {
    expect(plan(divideReplicas({ totalReplicas: 10 }, ['c', 'a', 'b']))).toEqual({ a: 4, b: 4, c: 2 });
    expect(plan(divideReplicas({ totalReplicas: 50 }, ['A', 'B', 'C']))).toEqual({ A: 17, B: 17, C: 16 });
    expect(plan(divideReplicas({ totalReplicas: 1 }, ['A', 'B']))).toEqual({ A: 1, B: 0 });
    expect(plan(divideReplicas({ totalReplicas: 10, clusters: {} }, ['b', 'a']))).toEqual({ a: 5, b: 5 });
    expect([...divideReplicas({ totalReplicas: 10 }, ['c', 'a', 'b']).keys()]).toEqual(['a', 'b', 'c']);
  });

  it('"*" applies to clusters not named; its weight defaults to 1, a named cluster\'s to 0', () => {
    expect(plan(divideReplicas({ totalReplicas: 9, clusters: { a: { weight: 2 }, '*': {} } }, ['a', 'b', 'c']))).toEqual({ a: 5, b: 3, c: 1 });
    expect(plan(divideReplicas({ totalReplicas: 9, clusters: { a: { minReplicas: 2 }, b: { weight: 1 } } }, ['a', 'b', 'c']))).toEqual({ a: 2, b: 7, c: 0 });
  });

  it('gives minimums first, in weight order, while replicas remain', () => {
    expect(plan(divideReplicas({ totalReplicas: 10, clusters: { a: { weight: 1, minReplicas: 6 }, b: { weight: 1 } } }, ['a', 'b']))).toEqual({ a: 8, b: 2 });
    expect(plan(divideReplicas({ totalReplicas: 5, clusters: { a: { weight: 1, minReplicas: 4 }, b: { weight: 2, minReplicas: 4 } } }, ['a', 'b']))).toEqual({ a: 1, b: 4 });
  });

  it('caps by max and gives the overflow to the others', () => {
    const pref = { totalReplicas: 12, clusters: { a: { weight: 10, maxReplicas: 2 }, b: { weight: 1 }, c: { weight: 1, maxReplicas: 3 } } };
    const result = divideReplicas(pref, ['a', 'b', 'c']);
    expect(plan(result)).toEqual({ a: 2, b: 7, c: 3 });
    expect(sum(result)).toBe(12);
  });

  it('leaves replicas unplaced when every cluster is at its max', () => {
    const result = divideReplicas({ totalReplicas: 10, clusters: { '*': { maxReplicas: 2 } } }, ['a', 'b']);
    expect(plan(result)).toEqual({ a: 2, b: 2 });
  });

  it('no clusters, zero replicas and bad numbers place nothing', () => {
    expect(plan(divideReplicas({ totalReplicas: 10 }, []))).toEqual({});
    expect(plan(divideReplicas({ totalReplicas: 0 }, ['a']))).toEqual({ a: 0 });
    expect(plan(divideReplicas({ totalReplicas: -3 } as never, ['a']))).toEqual({ a: 0 });
    expect(plan(divideReplicas({ totalReplicas: 4, clusters: { a: { weight: 'x' } } } as never, ['a']))).toEqual({ a: 0 });
  });

  it('reads a whole ReplicaSchedulingPreference object as well as its spec', () => {
    const rsp = { apiVersion: 'scheduling.kubefed.io/v1alpha1' as const, kind: 'ReplicaSchedulingPreference' as const, metadata: { name: 'web' }, spec: { targetKind: 'FederatedDeployment' as const, totalReplicas: 10, clusters: { a: { weight: 7 }, b: { weight: 3 } } } };
    expect(plan(divideReplicas(rsp, ['a', 'b']))).toEqual({ a: 7, b: 3 });
  });

  it('is deterministic and never places more than the total, on random preferences', () => {
    let seed = 42;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let i = 0; i < 500; i++) {
      const names = Array.from({ length: rnd(6) + 1 }, (_, k) => `c${k}`);
      const clusters: Record<string, { weight?: number; minReplicas?: number; maxReplicas?: number }> = {};
      for (const n of [...names, '*']) {
        if (rnd(3) === 0) continue;
        clusters[n] = { weight: rnd(5), ...(rnd(2) ? { minReplicas: rnd(4) } : {}), ...(rnd(2) ? { maxReplicas: rnd(8) } : {}) };
      }
      const pref = { totalReplicas: rnd(30), clusters };
      const a = divideReplicas(pref, names);
      expect(plan(divideReplicas(pref, [...names].reverse()))).toEqual(plan(a));
      expect(sum(a)).toBeLessThanOrEqual(pref.totalReplicas);
      for (const [n, v] of a) {
        const p = clusters[n] ?? clusters['*'];
        if (p?.maxReplicas !== undefined) expect(v).toBeLessThanOrEqual(Math.max(p.maxReplicas, p.minReplicas ?? 0));
      }
      const uncapped = names.every((n) => { const p = clusters[n] ?? clusters['*']; return p && p.maxReplicas === undefined && (p.weight ?? 0) > 0; });
      if (uncapped) expect(sum(a)).toBe(pref.totalReplicas);
    }
  });
});

describe('validateReplicaSchedulingPreference', () => {
  const fields = (causes: { field: string; reason: string }[]) => causes.map((c) => `${c.field}: ${c.reason}`);

  it('accepts kubefed\'s examples', () => {
    expect(validateReplicaSchedulingPreference({ spec: { targetKind: 'FederatedDeployment', totalReplicas: 10, rebalance: true, clusters: { a: { weight: 7 }, '*': { minReplicas: 1, maxReplicas: 5 } } } })).toEqual([]);
    expect(validateReplicaSchedulingPreference({ spec: { targetKind: 'FederatedStatefulSet', totalReplicas: 0 } })).toEqual([]);
  });

  it('names each bad field', () => {
    expect(fields(validateReplicaSchedulingPreference({}))).toEqual(['spec: FieldValueRequired']);
    const causes = validateReplicaSchedulingPreference({
      spec: { targetKind: 'FederatedJob', totalReplicas: 1.5, rebalance: 'yes', clusters: { Bad_Name: { weight: -1 }, b: { minReplicas: 3, maxReplicas: 2 }, c: 4 } },
    });
    expect(fields(causes)).toEqual([
      'spec.targetKind: FieldValueNotSupported',
      'spec.totalReplicas: FieldValueInvalid',
      'spec.rebalance: FieldValueInvalid',
      'spec.clusters[Bad_Name]: FieldValueInvalid',
      'spec.clusters[Bad_Name].weight: FieldValueInvalid',
      'spec.clusters[b].maxReplicas: FieldValueInvalid',
      'spec.clusters[c]: FieldValueInvalid',
    ]);
    expect(fields(validateReplicaSchedulingPreference({ spec: { targetKind: 'FederatedDeployment' } }))).toEqual(['spec.totalReplicas: FieldValueRequired']);
  });
});
