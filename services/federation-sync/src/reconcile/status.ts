import type { FederatedClusterStatus, FederatedCondition, FederatedStatus } from '@flotilla/domain';
/** One status.clusters entry, and the status, in the domain's shapes. */
export type ClusterEntry = FederatedClusterStatus;
export type { FederatedStatus };
type Condition = FederatedCondition & { type: 'Propagation' | 'Ready'; lastTransitionTime: string; lastUpdateTime: string };

export interface StatusInput {
  generation: number;
  clusters: ClusterEntry[];
  /** Applied clusters whose member object is not (yet) ready/available. */
  notReady: string[];
  /** The template cannot be turned into member objects. */
  templateError?: string;
  workload: boolean;
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

function condition(prev: FederatedCondition[] | undefined, next: Omit<Condition, 'lastTransitionTime' | 'lastUpdateTime'>): Condition {
  const old = prev?.find((c) => c.type === next.type);
  const t = now();
  const sameStatus = old?.status === next.status;
  const same = sameStatus && old?.reason === next.reason && old?.message === next.message;
  return {
    ...next,
    lastTransitionTime: sameStatus && old?.lastTransitionTime ? old.lastTransitionTime : t,
    lastUpdateTime: same && old?.lastUpdateTime ? old.lastUpdateTime : t,
  };
}

/** The status to write: kubefed's shape, extended (ADR 0035). Timestamps move only when a condition changes. */
export function buildStatus(prev: FederatedStatus | undefined, input: StatusInput): FederatedStatus {
  const clusters = [...input.clusters].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const failed = clusters.filter((c) => c.status !== 'Applied');
  const propagation = input.templateError
    ? { type: 'Propagation' as const, status: 'False' as const, reason: 'TemplateInvalid', message: input.templateError.slice(0, 1024) }
    : failed.length > 0
      ? {
          type: 'Propagation' as const,
          status: 'False' as const,
          reason: 'CheckClusters',
          message: failed
            .slice(0, 10)
            .map((c) => `${c.name}: ${c.reason ?? c.status}`)
            .join(', ')
            .concat(failed.length > 10 ? `, and ${failed.length - 10} more` : ''),
        }
      : { type: 'Propagation' as const, status: 'True' as const, reason: 'Propagated', message: `applied to ${clusters.length} cluster(s)` };
  const allReady = propagation.status === 'True' && input.notReady.length === 0;
  const ready = allReady
    ? { type: 'Ready' as const, status: 'True' as const, reason: 'Ready', message: 'every placed cluster has it available' }
    : {
        type: 'Ready' as const,
        status: 'False' as const,
        reason: 'NotReady',
        message: input.notReady.length > 0 ? `not available yet on ${input.notReady.slice(0, 10).join(', ')}` : 'not applied to every placed cluster',
      };
  const status: FederatedStatus = {
    observedGeneration: input.generation,
    conditions: [condition(prev?.conditions, propagation), condition(prev?.conditions, ready)],
    clusters,
  };
  if (input.workload) {
    const sum = (f: 'replicas' | 'readyReplicas' | 'availableReplicas') => clusters.reduce((n, c) => n + (c[f] ?? 0), 0);
    status.replicas = sum('replicas');
    status.readyReplicas = sum('readyReplicas');
    status.availableReplicas = sum('availableReplicas');
  }
  return status;
}

/** Equal but for condition timestamps: nothing to write. */
export function sameStatus(a: FederatedStatus | undefined, b: FederatedStatus): boolean {
  const strip = (s: FederatedStatus | undefined) =>
    stable({ ...(s ?? {}), conditions: (s?.conditions ?? []).map(({ lastTransitionTime: _t, lastUpdateTime: _u, ...c }) => c) });
  return strip(a) === strip(b);
}

/** JSON with sorted keys (a stored status comes back with its keys in any order). */
function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
