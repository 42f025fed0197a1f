import type { ErrorCause } from '../errors/flotilla-error';
import { dns1123LabelErrors } from '../cluster/names';
import { Causes, isObject } from './causes';
import type { ReplicaClusterPreference, ReplicaSchedulingPreference, ReplicaSchedulingPreferenceSpec } from './types';

const TARGET_KINDS = ['FederatedDeployment', 'FederatedStatefulSet'] as const;
/** Kubernetes' own bound on replicas (int32). */
const MAX_REPLICAS = 2_147_483_647;
const MAX_CLUSTER_ENTRIES = 10_000;

interface Preference {
  name: string;
  weight: number;
  min: number;
  max?: number;
}

const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);

function preferenceOf(name: string, p: ReplicaClusterPreference | undefined, wildcard: boolean): Preference {
  const q = isObject(p) ? p : {};
  // kubefed: an unset weight is 0, but the "*" entry's weight defaults to 1 (as kubefed's implied {"*": {weight: 1}}).
  const weight = count(q.weight) ?? (wildcard ? 1 : 0);
  const min = count(q.minReplicas) ?? 0;
  const max = count(q.maxReplicas);
  return { name, weight, min, max: max === undefined ? undefined : Math.max(max, min) };
}

/**
 * kubefed's replica planner: divides `totalReplicas` over the given clusters (the ready, placed
 * ones). Each cluster takes its preference by name, else the "*" one; a cluster with neither gets 0.
 * No `clusters` (or an empty map) is kubefed's default `{"*": {weight: 1}}`. Order: weight
 * descending, then name. Every cluster first gets its minReplicas (in that order, while replicas
 * remain); the rest is shared by weight, fractions rounded up in that order, each capped by
 * maxReplicas, and what a capped cluster cannot take goes to the others in further rounds. When
 * every cluster is capped the remainder is left unplaced (as kubefed does). `rebalance` is not
 * read: the division depends only on the preference and the clusters. Returns every cluster in
 * `clusters`, sorted by name.
 */
export function divideReplicas(pref: ReplicaSchedulingPreferenceSpec | ReplicaSchedulingPreference | { totalReplicas?: unknown; clusters?: unknown }, clusters: readonly string[]): Map<string, number> {
  const spec = (isObject((pref as ReplicaSchedulingPreference).spec) ? (pref as ReplicaSchedulingPreference).spec : pref) as { totalReplicas?: unknown; clusters?: unknown };
  const total = Math.min(count(spec.totalReplicas) ?? 0, MAX_REPLICAS);
  const given = isObject(spec.clusters) && Object.keys(spec.clusters).length > 0 ? (spec.clusters as Record<string, ReplicaClusterPreference>) : { '*': { weight: 1 } };
  const names = [...new Set(clusters)].sort();
  const plan = new Map<string, number>(names.map((n) => [n, 0]));

  let preferences: Preference[] = [];
  for (const name of names) {
    if (name !== '*' && Object.hasOwn(given, name)) preferences.push(preferenceOf(name, given[name], false));
    else if (Object.hasOwn(given, '*')) preferences.push(preferenceOf(name, given['*'], true));
  }
  preferences.sort((a, b) => b.weight - a.weight || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  let remaining = total;
  for (const p of preferences) {
    const min = Math.min(p.min, remaining);
    plan.set(p.name, min);
    remaining -= min;
  }

  let modified = true;
  while (modified && remaining > 0 && preferences.length > 0) {
    modified = false;
    const weightSum = preferences.reduce((s, p) => s + p.weight, 0);
    if (weightSum === 0) break;
    const distribute = remaining;
    const next: Preference[] = [];
    for (const p of preferences) {
      const start = plan.get(p.name)!;
      // Rounded up, in integers (weights up to 2^31 times replicas up to 2^31 pass 2^53).
      const share = Number((BigInt(distribute) * BigInt(p.weight) + BigInt(weightSum) - 1n) / BigInt(weightSum));
      const extra = Math.min(share, remaining);
      let planned = start + extra;
      if (p.max !== undefined && planned > p.max) planned = Math.max(p.max, start);
      if (planned > start) {
        modified = true;
        plan.set(p.name, planned);
        remaining -= planned - start;
      }
      if (p.max === undefined || planned < p.max) next.push(p);
    }
    preferences = next;
  }
  return plan;
}

/**
 * Checks a ReplicaSchedulingPreference as written: targetKind, totalReplicas, and each cluster's
 * weight, minReplicas and maxReplicas (non-negative integers, max not below min). Its name must be
 * the target federated object's (not checked here: the object may come later).
 */
export function validateReplicaSchedulingPreference(obj: unknown): ErrorCause[] {
  const causes = new Causes();
  const o = isObject(obj) ? obj : {};
  const spec = o.spec;
  if (!isObject(spec)) {
    causes.required('spec', 'spec is required, e.g. {targetKind: FederatedDeployment, totalReplicas: 10, clusters: {"*": {weight: 1}}}');
    return causes.list;
  }
  if (!TARGET_KINDS.includes(spec.targetKind as (typeof TARGET_KINDS)[number])) {
    causes.notSupported('spec.targetKind', spec.targetKind, TARGET_KINDS);
  }
  const nonNegative = (field: string, v: unknown, required: boolean) => {
    if (v === undefined || v === null) {
      if (required) causes.required(field, 'write the number of replicas, e.g. 10');
      return;
    }
    if (count(v) === undefined || (v as number) > MAX_REPLICAS) causes.invalid(field, v, `must be an integer from 0 to ${MAX_REPLICAS}`);
  };
  nonNegative('spec.totalReplicas', spec.totalReplicas, true);
  if (spec.rebalance !== undefined && typeof spec.rebalance !== 'boolean') causes.invalid('spec.rebalance', spec.rebalance, 'must be true or false');
  if (spec.clusters === undefined || spec.clusters === null) return causes.list;
  if (!isObject(spec.clusters)) {
    causes.invalid('spec.clusters', spec.clusters, 'must be an object of cluster names (or "*") to {weight, minReplicas, maxReplicas}');
    return causes.list;
  }
  const entries = Object.entries(spec.clusters);
  if (entries.length > MAX_CLUSTER_ENTRIES) {
    causes.tooMany('spec.clusters', `must have at most ${MAX_CLUSTER_ENTRIES} entries, got ${entries.length}: use "*" for the clusters that share a preference`);
    return causes.list;
  }
  for (const [name, p] of entries) {
    const field = `spec.clusters[${name}]`;
    if (name !== '*') for (const e of dns1123LabelErrors(name)) causes.invalid(field, name, `${e} (a cluster name, or "*" for every other cluster)`);
    if (!isObject(p)) {
      causes.invalid(field, p, 'must be an object {weight?, minReplicas?, maxReplicas?}');
      continue;
    }
    nonNegative(`${field}.weight`, p.weight, false);
    nonNegative(`${field}.minReplicas`, p.minReplicas, false);
    nonNegative(`${field}.maxReplicas`, p.maxReplicas, false);
    if (count(p.minReplicas) !== undefined && count(p.maxReplicas) !== undefined && (p.maxReplicas as number) < (p.minReplicas as number)) {
      causes.invalid(`${field}.maxReplicas`, p.maxReplicas, `must be at least minReplicas (${p.minReplicas as number})`);
    }
  }
  return causes.list;
}
