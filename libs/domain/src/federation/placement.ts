import type { LabelSelector } from '../iam/iam';
import { type LabelRequirement, labelSelectorRequirements, matchesLabels } from '../selectors/label-selector';
import { isObject } from './causes';

export interface PlacementCluster {
  name: string;
  labels?: Record<string, string>;
}

/** A placement as stored; anything unreadable selects nothing. */
export interface PlacementLike {
  clusters?: { name: string }[] | null;
  clusterSelector?: LabelSelector | null;
}

function namedClusters(placement: PlacementLike): string[] {
  if (!Array.isArray(placement.clusters)) return [];
  const names: string[] = [];
  for (const c of placement.clusters) if (isObject(c) && typeof c.name === 'string') names.push(c.name);
  return names;
}

/**
 * kubefed placement, with Flotilla's union: a cluster is placed when named in `clusters` or
 * selected by `clusterSelector` (`{}` selects every cluster). No placement, or neither field:
 * no cluster. An unreadable selector selects nothing. A cluster without labels has none.
 */
export function placementSelects(placement: PlacementLike | undefined | null, cluster: PlacementCluster): boolean {
  if (!isObject(placement)) return false;
  const p = placement as PlacementLike;
  if (namedClusters(p).includes(cluster.name)) return true;
  if (p.clusterSelector === undefined || p.clusterSelector === null) return false;
  const requirements = labelSelectorRequirements(p.clusterSelector);
  return Array.isArray(requirements) && matchesLabels(requirements, cluster.labels ?? {});
}

/**
 * The fleet indexed by label, so that placing many objects over many clusters costs what matches,
 * not objects × clusters: `select` starts from the smallest posting list among the selector's
 * positive requirements (In: the union of its values' lists; Exists: the key's list) and checks
 * only those candidates against the whole selector. A selector with only NotIn / DoesNotExist
 * requirements scans the fleet. Kept current with set / delete as the fleet changes.
 */
export class PlacementIndex {
  private readonly clusters = new Map<string, Record<string, string>>();
  /** label key -> value -> cluster names. */
  private readonly byValue = new Map<string, Map<string, Set<string>>>();
  /** label key -> cluster names having it. */
  private readonly byKey = new Map<string, Set<string>>();

  constructor(clusters: Iterable<PlacementCluster> = []) {
    for (const c of clusters) this.set(c);
  }

  get size(): number {
    return this.clusters.size;
  }

  has(name: string): boolean {
    return this.clusters.has(name);
  }

  names(): string[] {
    return [...this.clusters.keys()].sort();
  }

  /** Adds a cluster or replaces its labels. */
  set(cluster: PlacementCluster): void {
    this.delete(cluster.name);
    const labels = { ...(cluster.labels ?? {}) };
    this.clusters.set(cluster.name, labels);
    for (const [key, value] of Object.entries(labels)) {
      let values = this.byValue.get(key);
      if (!values) this.byValue.set(key, (values = new Map()));
      let names = values.get(value);
      if (!names) values.set(value, (names = new Set()));
      names.add(cluster.name);
      let keyed = this.byKey.get(key);
      if (!keyed) this.byKey.set(key, (keyed = new Set()));
      keyed.add(cluster.name);
    }
  }

  delete(name: string): boolean {
    const labels = this.clusters.get(name);
    if (!labels) return false;
    this.clusters.delete(name);
    for (const [key, value] of Object.entries(labels)) {
      const values = this.byValue.get(key);
      const names = values?.get(value);
      names?.delete(name);
      if (names?.size === 0) values!.delete(value);
      if (values?.size === 0) this.byValue.delete(key);
      const keyed = this.byKey.get(key);
      keyed?.delete(name);
      if (keyed?.size === 0) this.byKey.delete(key);
    }
    return true;
  }

  /** Whether the placement selects this indexed cluster (false for a cluster not in the index). */
  selects(placement: PlacementLike | undefined | null, name: string): boolean {
    const labels = this.clusters.get(name);
    return labels !== undefined && placementSelects(placement, { name, labels });
  }

  /** The indexed clusters the placement selects, sorted by name. Named clusters not in the index are left out (the caller reports them ClusterNotFound). */
  select(placement: PlacementLike | undefined | null): string[] {
    if (!isObject(placement)) return [];
    const p = placement as PlacementLike;
    const out = new Set<string>();
    for (const name of namedClusters(p)) if (this.clusters.has(name)) out.add(name);
    if (p.clusterSelector !== undefined && p.clusterSelector !== null) {
      const requirements = labelSelectorRequirements(p.clusterSelector);
      if (Array.isArray(requirements)) for (const name of this.matching(requirements)) out.add(name);
    }
    return [...out].sort();
  }

  /** The clusters matching every requirement. */
  private matching(requirements: LabelRequirement[]): Iterable<string> {
    if (requirements.length === 0) return this.clusters.keys();
    let best: Iterable<string> | undefined;
    let bestSize = Infinity;
    for (const r of requirements) {
      if (r.operator === 'Exists') {
        const keyed = this.byKey.get(r.key);
        const size = keyed?.size ?? 0;
        if (size < bestSize) [best, bestSize] = [keyed ?? [], size];
      } else if (r.operator === 'In') {
        const values = this.byValue.get(r.key);
        let size = 0;
        const lists: Set<string>[] = [];
        for (const v of new Set(r.values)) {
          const names = values?.get(v);
          if (names) {
            lists.push(names);
            size += names.size;
          }
        }
        if (size < bestSize) [best, bestSize] = [lists.length === 1 ? lists[0]! : lists.flatMap((l) => [...l]), size];
      }
      if (bestSize === 0) return [];
    }
    const candidates = best ?? this.clusters.keys();
    const out: string[] = [];
    for (const name of candidates) if (matchesLabels(requirements, this.clusters.get(name))) out.push(name);
    return out;
  }
}
