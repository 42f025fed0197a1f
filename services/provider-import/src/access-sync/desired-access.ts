import {
  type ClusterAccessBinding,
  FleetRole,
  type GlobalRoleBinding,
  IamResource,
  type LabelSelector,
  type Subject,
  labelSelectorMatches,
} from '@flotilla/domain';

/**
 * Who the API proxy may impersonate in each member (ADR 0030): pure computation over the IAM
 * objects, so the sync loop and its tests share it. The proxy sends `flotilla:user:<user>` for
 * whoever holds a member role on the cluster; the member must allow exactly those names.
 */

/** The user name the bootstrap admin token maps to (always fleet-admin, never stored as a User). */
export const BOOTSTRAP_ADMIN_USER = 'admin';

/** What the sync keeps of each IAM object: only the fields the desired state reads. */
export interface IamState {
  /** User name -> its groups; disabled users are left out (they cannot call the proxy). */
  users: Map<string, { groups: string[]; disabled: boolean }>;
  /** Token name -> its user. */
  tokens: Map<string, string>;
  globalRoleBindings: Map<string, Pick<GlobalRoleBinding, 'subjects' | 'roleRef'>>;
  clusterAccessBindings: Map<string, Pick<ClusterAccessBinding, 'subjects' | 'role' | 'clusters' | 'clusterSelector'>>;
}

export const FOLLOWED_RESOURCES: readonly string[] = [IamResource.users, IamResource.tokens, IamResource.globalRoleBindings, IamResource.clusterAccessBindings];

export function emptyIamState(): IamState {
  return { users: new Map(), tokens: new Map(), globalRoleBindings: new Map(), clusterAccessBindings: new Map() };
}

type Json = Record<string, unknown>;
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const subjectsOf = (v: unknown): Subject[] =>
  (Array.isArray(v) ? v : []).filter((s: Json) => s && typeof s.name === 'string' && ['User', 'Group', 'Token'].includes(s.kind as string)).map((s: Json) => ({ kind: s.kind as Subject['kind'], name: s.name as string }));

/**
 * Applies one stored object (or its deletion, `object` undefined) to the state. Returns whether
 * anything the desired state reads changed (a token's lastUsedTime, say, does not).
 */
export function applyIamObject(state: IamState, resource: string, name: string, object: Json | undefined): boolean {
  const set = <V>(map: Map<string, V>, value: V | undefined): boolean => {
    const before = map.get(name);
    if (value === undefined) return map.delete(name);
    map.set(name, value);
    return JSON.stringify(before) !== JSON.stringify(value);
  };
  switch (resource) {
    case IamResource.users: {
      const spec = (object?.spec ?? {}) as Json;
      const status = (object?.status ?? {}) as Json;
      return set(state.users, object && { groups: [...new Set(strings(spec.groups))].sort(), disabled: status.state === 'Disabled' });
    }
    case IamResource.tokens: {
      const user = ((object?.spec ?? {}) as Json).user;
      return set(state.tokens, object && typeof user === 'string' ? user : undefined);
    }
    case IamResource.globalRoleBindings:
      return set(state.globalRoleBindings, object && { subjects: subjectsOf(object.subjects), roleRef: object.roleRef as GlobalRoleBinding['roleRef'] });
    case IamResource.clusterAccessBindings:
      return set(
        state.clusterAccessBindings,
        object && {
          subjects: subjectsOf(object.subjects),
          role: object.role as ClusterAccessBinding['role'],
          ...(Array.isArray(object.clusters) ? { clusters: strings(object.clusters) } : {}),
          ...(object.clusterSelector && typeof object.clusterSelector === 'object' ? { clusterSelector: object.clusterSelector as LabelSelector } : {}),
        },
      );
    default:
      return false;
  }
}

/** Lookups built once per recomputation: group members, token owners, fleet admins. */
export class IamIndex {
  private readonly members = new Map<string, string[]>();
  readonly fleetAdmins: ReadonlySet<string>;

  constructor(private readonly state: IamState) {
    for (const [user, u] of state.users) {
      if (u.disabled) continue;
      for (const g of u.groups) this.members.set(g, [...(this.members.get(g) ?? []), user]);
    }
    const admins = new Set<string>([BOOTSTRAP_ADMIN_USER]);
    for (const b of state.globalRoleBindings.values()) if (b.roleRef?.name === FleetRole.admin) this.addSubjects(admins, b.subjects);
    this.fleetAdmins = admins;
  }

  /** Adds the user names `subjects` stand for: a User itself (unless disabled), a Group's users, a Token's user. */
  addSubjects(into: Set<string>, subjects: readonly Subject[]): void {
    for (const s of subjects) {
      const user = s.kind === 'User' ? s.name : s.kind === 'Token' ? this.state.tokens.get(s.name) : undefined;
      if (user !== undefined && !this.state.users.get(user)?.disabled) into.add(user);
      if (s.kind === 'Group') for (const m of this.members.get(s.name) ?? []) into.add(m);
    }
  }

  /** The Flotilla user names the proxy may impersonate in this cluster, sorted. */
  usersFor(cluster: { name: string; labels?: Record<string, string> }): string[] {
    const users = new Set(this.fleetAdmins);
    for (const b of this.state.clusterAccessBindings.values()) {
      if (b.clusters?.includes(cluster.name) || labelSelectorMatches(b.clusterSelector, cluster.labels)) this.addSubjects(users, b.subjects);
    }
    return [...users].sort();
  }
}
