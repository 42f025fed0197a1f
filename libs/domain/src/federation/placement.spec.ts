import type { LabelSelector } from '../iam/iam';
import { PlacementIndex, type PlacementLike, placementSelects } from './placement';

const cluster = (name: string, labels: Record<string, string> = {}) => ({ name, labels });

describe('placementSelects (kubefed placement, Flotilla union)', () => {
  const prod = cluster('a', { env: 'prod', region: 'eu' });

  it('no placement, or neither field: no cluster', () => {
    expect(placementSelects(undefined, prod)).toBe(false);
    expect(placementSelects({}, prod)).toBe(false);
    expect(placementSelects({ clusters: [] }, prod)).toBe(false);
  });

  it('by name, by selector, and the union of both; {} selects every cluster', () => {
    expect(placementSelects({ clusters: [{ name: 'a' }] }, prod)).toBe(true);
    expect(placementSelects({ clusters: [{ name: 'b' }] }, prod)).toBe(false);
    expect(placementSelects({ clusters: [], clusterSelector: { matchLabels: { env: 'prod' } } }, prod)).toBe(true);
    expect(placementSelects({ clusters: [{ name: 'a' }], clusterSelector: { matchLabels: { env: 'dev' } } }, prod)).toBe(true);
    expect(placementSelects({ clusters: [{ name: 'b' }], clusterSelector: { matchLabels: { env: 'dev' } } }, prod)).toBe(false);
    expect(placementSelects({ clusterSelector: {} }, cluster('bare'))).toBe(true);
    expect(placementSelects({ clusterSelector: {} }, { name: 'unlabelled' })).toBe(true);
  });

  it('matchExpressions follow Kubernetes semantics', () => {
    const sel = (matchExpressions: LabelSelector['matchExpressions']) => ({ clusterSelector: { matchExpressions } });
    expect(placementSelects(sel([{ key: 'region', operator: 'In', values: ['eu', 'us'] }]), prod)).toBe(true);
    expect(placementSelects(sel([{ key: 'region', operator: 'NotIn', values: ['eu'] }]), prod)).toBe(false);
    expect(placementSelects(sel([{ key: 'zone', operator: 'NotIn', values: ['x'] }]), prod)).toBe(true);
    expect(placementSelects(sel([{ key: 'env', operator: 'Exists' }]), prod)).toBe(true);
    expect(placementSelects(sel([{ key: 'env', operator: 'DoesNotExist' }]), prod)).toBe(false);
  });

  it('an unreadable selector selects nothing', () => {
    expect(placementSelects({ clusterSelector: { matchExpressions: [{ key: 'env', operator: 'Equals' as 'In', values: ['prod'] }] } }, prod)).toBe(false);
    expect(placementSelects({ clusterSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: [] }] } }, prod)).toBe(false);
    expect(placementSelects({ clusterSelector: 'env=prod' as never }, prod)).toBe(false);
    expect(placementSelects({ clusters: 'a' as never }, prod)).toBe(false);
  });
});

/** A small deterministic generator (mulberry32), so a failure can be replayed from its seed. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { next, int, pick };
}

const KEYS = ['env', 'region', 'tier', 'zone', 'team'];
const VALUES = ['a', 'b', 'c', 'd'];
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

function randomLabels(r: ReturnType<typeof random>): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const key of KEYS) if (r.next() < 0.6) labels[key] = r.pick(VALUES);
  return labels;
}

function randomPlacement(r: ReturnType<typeof random>, names: string[]): PlacementLike {
  const p: PlacementLike = {};
  if (r.next() < 0.4) p.clusters = Array.from({ length: r.int(4) }, () => ({ name: r.next() < 0.9 ? r.pick(names) : 'unknown' }));
  if (r.next() < 0.8) {
    const selector: LabelSelector = {};
    if (r.next() < 0.5) selector.matchLabels = Object.fromEntries(Array.from({ length: r.int(3) }, () => [r.pick(KEYS), r.pick(VALUES)]));
    if (r.next() < 0.7) {
      selector.matchExpressions = Array.from({ length: r.int(3) + 1 }, () => {
        const operator = r.pick(OPERATORS);
        return operator === 'In' || operator === 'NotIn' ? { key: r.pick(KEYS), operator, values: Array.from({ length: r.int(3) + 1 }, () => r.pick(VALUES)) } : { key: r.pick(KEYS), operator };
      });
    }
    p.clusterSelector = selector;
  }
  return p;
}

describe('PlacementIndex', () => {
  it('selects exactly what placementSelects selects, on random fleets and placements', () => {
    let selected = 0;
    let empty = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const r = random(seed);
      const clusters = Array.from({ length: r.int(40) + 1 }, (_, i) => cluster(`c${i}`, randomLabels(r)));
      const index = new PlacementIndex(clusters);
      for (let k = 0; k < 20; k++) {
        const placement = randomPlacement(r, clusters.map((c) => c.name));
        const expected = clusters.filter((c) => placementSelects(placement, c)).map((c) => c.name).sort();
        const got = index.select(placement);
        if (got.length > 0) selected++;
        else empty++;
        if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`seed ${seed}: ${JSON.stringify(placement)} selected ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
        const wrong = clusters.filter((c) => index.selects(placement, c.name) !== expected.includes(c.name));
        if (wrong.length > 0) throw new Error(`seed ${seed}: selects() disagrees on ${wrong[0]!.name} for ${JSON.stringify(placement)}`);
      }
    }
    // The generated cases are not all trivial.
    expect(selected).toBeGreaterThan(500);
    expect(empty).toBeGreaterThan(500);
  });

  it('stays equivalent as clusters are relabelled and removed', () => {
    const r = random(7);
    const clusters = new Map(Array.from({ length: 30 }, (_, i) => [`c${i}`, cluster(`c${i}`, randomLabels(r))]));
    const index = new PlacementIndex(clusters.values());
    for (let step = 0; step < 300; step++) {
      const name = `c${r.int(35)}`;
      if (r.next() < 0.2) {
        expect(index.delete(name)).toBe(clusters.delete(name));
      } else {
        const c = cluster(name, randomLabels(r));
        clusters.set(name, c);
        index.set(c);
      }
      const placement = randomPlacement(r, [...clusters.keys()]);
      expect(index.select(placement)).toEqual([...clusters.values()].filter((c) => placementSelects(placement, c)).map((c) => c.name).sort());
      expect(index.size).toBe(clusters.size);
    }
  });

  it('leaves out named clusters that are not in the fleet, and selects every cluster with {}', () => {
    const index = new PlacementIndex([cluster('b', { env: 'prod' }), cluster('a')]);
    expect(index.select({ clusters: [{ name: 'a' }, { name: 'ghost' }] })).toEqual(['a']);
    expect(index.select({ clusterSelector: {} })).toEqual(['a', 'b']);
    expect(index.select(undefined)).toEqual([]);
    expect(index.names()).toEqual(['a', 'b']);
  });

  it('checks only the smallest posting list for positive requirements', () => {
    const clusters = Array.from({ length: 10_000 }, (_, i) => cluster(`c${i}`, { env: i % 2 ? 'prod' : 'dev', ...(i === 4242 ? { canary: 'yes' } : {}) }));
    const index = new PlacementIndex(clusters);
    const placement = { clusterSelector: { matchLabels: { env: 'dev' }, matchExpressions: [{ key: 'canary', operator: 'In' as const, values: ['yes'] }] } };
    const labelsRead = jest.fn();
    const internal = index as unknown as { clusters: Map<string, Record<string, string>> };
    const real = internal.clusters.get.bind(internal.clusters);
    internal.clusters.get = (name: string) => {
      labelsRead(name);
      return real(name);
    };
    expect(index.select(placement)).toEqual(['c4242']);
    expect(labelsRead).toHaveBeenCalledTimes(1);
  });
});
