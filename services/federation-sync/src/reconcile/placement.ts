import {
  type Cluster,
  type ClusterAccessBinding,
  type FederatedKindInfo,
  type GlobalRoleBinding,
  MemberRole,
  type PlacementIndex,
  type PlacementLike,
  findCondition,
  memberRoleFromBindings,
  parseLastWriter,
} from '@flotilla/domain';

/** Why a selected cluster does not get the object now (a status.clusters entry). */
export interface Withheld {
  status: 'Pending' | 'Failed';
  reason: string;
  message: string;
}

export interface PlacementInput {
  info: FederatedKindInfo;
  object: Record<string, unknown>;
  /** The fleet, and the same indexed by label (kept current by the service). */
  clusters: ReadonlyMap<string, Cluster>;
  index: PlacementIndex;
  /** The FederatedNamespace of the object's namespace (namespaced kinds other than FederatedNamespace). */
  federatedNamespace?: Record<string, unknown>;
  bindings: { global: GlobalRoleBinding[]; access: ClusterAccessBinding[] };
}

export interface Placement {
  /** Clusters the object goes to now, Ready ones first in name order. */
  place: string[];
  /** Placed clusters that are Ready (replica scheduling divides over these). */
  ready: Set<string>;
  /** Selected clusters that do not get it, and why. */
  withheld: Map<string, Withheld>;
}

type PlacementSpec = PlacementLike;

const EDIT_ROLES: readonly string[] = [MemberRole.admin, MemberRole.editor];

export const isReady = (c: Cluster) => findCondition(c.status?.conditions, 'Ready')?.status === 'True';

function placementOf(o: Record<string, unknown> | undefined): PlacementSpec {
  const spec = (o?.spec ?? {}) as { placement?: PlacementSpec };
  return (spec.placement ?? {}) as PlacementSpec;
}

/**
 * Where one federated object goes: the clusters its placement selects, within its namespace's
 * FederatedNamespace placement (namespaced kinds), where its last writer still holds
 * cluster-editor or more (re-checked on every reconcile: rights and labels move).
 */
export function computePlacement(input: PlacementInput): Placement {
  const { info, object, federatedNamespace, bindings } = input;
  const placement = placementOf(object);
  // Clusters named in the placement that the fleet does not have.
  const named = Array.isArray(placement.clusters) ? placement.clusters.map((c) => (c as { name?: unknown })?.name).filter((n): n is string => typeof n === 'string') : [];
  const nsScoped = info.namespaced && info.kind !== 'FederatedNamespace';
  const nsPlacement = nsScoped && federatedNamespace ? placementOf(federatedNamespace) : undefined;
  const nsDeleting = !!(federatedNamespace?.metadata as { deletionTimestamp?: string } | undefined)?.deletionTimestamp;
  const writer = parseLastWriter((object.metadata as { annotations?: Record<string, string> } | undefined)?.annotations);
  const namespace = (object.metadata as { namespace?: string } | undefined)?.namespace ?? '';
  const place: string[] = [];
  const ready = new Set<string>();
  const withheld = new Map<string, Withheld>();
  for (const name of input.index.select(placement)) {
    const c = input.clusters.get(name);
    if (!c) continue;
    const target = { name, labels: c.metadata.labels ?? {} };
    if (nsScoped && (!federatedNamespace || nsDeleting || !input.index.selects(nsPlacement, name))) {
      const message = federatedNamespace
        ? `the FederatedNamespace "${namespace}" does not place namespace "${namespace}" on cluster "${name}"`
        : `namespace "${namespace}" has no FederatedNamespace; create one placing it on cluster "${name}"`;
      withheld.set(name, { status: 'Pending', reason: 'NamespaceNotFederated', message });
      continue;
    }
    const role = writer ? memberRoleFromBindings(writer, target, bindings.global, bindings.access) : undefined;
    if (!role || !EDIT_ROLES.includes(role)) {
      const who = writer ? `user "${writer.user}"` : 'the last writer (not recorded)';
      withheld.set(name, { status: 'Failed', reason: 'Forbidden', message: `${who} does not hold cluster-editor or cluster-admin on cluster "${name}"` });
      continue;
    }
    place.push(name);
    if (isReady(c)) ready.add(name);
  }
  for (const name of named) {
    if (!input.clusters.has(name)) withheld.set(name, { status: 'Pending', reason: 'ClusterNotFound', message: `cluster "${name}" is not in the fleet` });
  }
  place.sort((a, b) => Number(ready.has(b)) - Number(ready.has(a)) || (a < b ? -1 : a > b ? 1 : 0));
  return { place, ready, withheld };
}
