import { type LabelRequirement, labelSelectorRequirements, matchesLabels } from '../selectors/label-selector';
import { type ClusterAccessBinding, FleetRole, type GlobalRoleBinding, MEMBER_ROLES, MemberRole, type User } from './iam';

/** Who acts: a user and groups (a last-writer annotation, or an authenticated Principal). */
export interface AccessPrincipal {
  user: string;
  groups: readonly string[];
  /** The Token's name when a Flotilla token was presented (bindings may name a Token). */
  tokenId?: string;
  /** As in Principal; absent for a recorded writer. */
  via?: 'admin-token' | 'token' | 'oidc';
}

export interface AccessOptions {
  /**
   * The current Users (the IAM store). When given, a Flotilla user (not `admin`, not `oidc:...`)
   * who no longer exists or is Disabled holds nothing, and their groups are the User's current
   * ones, as the gateway would authenticate them now (for a recorded writer whose rights are
   * re-checked later). Without it the principal's groups are taken as given.
   */
  userOf?: (name: string) => User | undefined;
}

const SUBJECT_KINDS = new Set(['User', 'Group', 'Token']);
const MEMBER_ROLE_SET = new Set<string>(MEMBER_ROLES);
/** The bootstrap admin's user name (reserved: no User, no Token and no OIDC name can take it). */
const BOOTSTRAP_ADMIN = 'admin';

/** The subject keys a principal answers to in a binding, as the gateway's IAM mirror computes them: `User:<user>`, `Group:<g>` each, `Token:<id>`. */
export function subjectKeys(p: AccessPrincipal): string[] {
  const keys = [`User:${p.user}`];
  for (const g of p.groups) keys.push(`Group:${g}`);
  if (p.tokenId) keys.push(`Token:${p.tokenId}`);
  return keys;
}

/** The subject keys a binding names (unreadable subjects name nobody). */
function bindingKeys(subjects: unknown): string[] {
  if (!Array.isArray(subjects)) return [];
  const keys: string[] = [];
  for (const s of subjects) {
    if (typeof s === 'object' && s !== null && SUBJECT_KINDS.has((s as { kind: string }).kind) && typeof (s as { name: unknown }).name === 'string') {
      keys.push(`${(s as { kind: string }).kind}:${(s as { name: string }).name}`);
    }
  }
  return keys;
}

interface Rule {
  rank: number;
  clusters?: ReadonlySet<string>;
  selector?: LabelRequirement[] | null;
}

/**
 * The member roles the bindings grant, prepared once for many decisions (federation-sync checks a
 * writer's rights on every cluster a placement reaches). The same rules as the gateway's
 * Authorizer.computeMemberRole over its IamMirror: the bootstrap admin and fleet-admin
 * (GlobalRoleBinding to fleet-admin) are cluster-admin everywhere; otherwise the strongest role of
 * the ClusterAccessBindings naming one of the principal's subject keys whose `clusters` list the
 * cluster or whose `clusterSelector` selects its labels (an unreadable selector selects nothing).
 * Bindings with a role Flotilla does not know, and subjects of other kinds, grant nothing.
 */
export class MemberAccess {
  private readonly fleetAdmins = new Set<string>();
  private readonly rules = new Map<string, Rule[]>();

  constructor(globalBindings: readonly GlobalRoleBinding[], accessBindings: readonly ClusterAccessBinding[], private readonly options: AccessOptions = {}) {
    for (const b of globalBindings) {
      if (b?.roleRef?.name !== FleetRole.admin) continue;
      for (const key of bindingKeys(b.subjects)) this.fleetAdmins.add(key);
    }
    for (const b of accessBindings) {
      if (!b || !MEMBER_ROLE_SET.has(b.role)) continue;
      const rule: Rule = {
        rank: MEMBER_ROLES.indexOf(b.role),
        clusters: Array.isArray(b.clusters) ? new Set(b.clusters.filter((c) => typeof c === 'string')) : undefined,
        selector: labelSelectorRequirements(b.clusterSelector),
      };
      for (const key of new Set(bindingKeys(b.subjects))) {
        let list = this.rules.get(key);
        if (!list) this.rules.set(key, (list = []));
        list.push(rule);
      }
    }
  }

  /** Strongest member role on the cluster, or undefined. `labels` undefined is a cluster without labels. */
  roleOf(principal: AccessPrincipal, cluster: { name: string; labels?: Record<string, string> }): MemberRole | undefined {
    const p = this.current(principal);
    if (!p) return undefined;
    if (p.user === BOOTSTRAP_ADMIN && (p.via === undefined || p.via === 'admin-token')) return MemberRole.admin;
    const keys = subjectKeys(p);
    if (keys.some((k) => this.fleetAdmins.has(k))) return MemberRole.admin;
    let best = MEMBER_ROLES.length;
    for (const key of keys) {
      for (const rule of this.rules.get(key) ?? []) {
        if (rule.rank >= best) continue;
        const selected = rule.selector !== undefined && rule.selector !== null && matchesLabels(rule.selector, cluster.labels ?? {});
        if (rule.clusters?.has(cluster.name) || selected) best = rule.rank;
        if (best === 0) return MEMBER_ROLES[0];
      }
    }
    return MEMBER_ROLES[best];
  }

  private current(p: AccessPrincipal): AccessPrincipal | undefined {
    const userOf = this.options.userOf;
    if (!userOf || p.user === BOOTSTRAP_ADMIN || p.user.startsWith('oidc:') || p.via === 'oidc' || p.via === 'admin-token') return p;
    const user = userOf(p.user);
    if (!user || user.status?.state === 'Disabled') return undefined;
    const groups = (Array.isArray(user.spec?.groups) ? user.spec.groups : []).filter((g): g is string => typeof g === 'string' && !g.startsWith('system:'));
    return { ...p, groups };
  }
}

/**
 * The strongest member role `principal` holds on `cluster` under these bindings (see MemberAccess),
 * or undefined. For many decisions over the same bindings, build one MemberAccess instead.
 */
export function memberRoleFromBindings(
  principal: AccessPrincipal,
  cluster: { name: string; labels?: Record<string, string> },
  globalBindings: readonly GlobalRoleBinding[],
  accessBindings: readonly ClusterAccessBinding[],
  options: AccessOptions = {},
): MemberRole | undefined {
  return new MemberAccess(globalBindings, accessBindings, options).roleOf(principal, cluster);
}

/** Whether `role` is at least `wanted` (cluster-admin > cluster-editor > cluster-viewer). */
export function memberRoleAtLeast(role: MemberRole | undefined, wanted: MemberRole): boolean {
  return role !== undefined && MEMBER_ROLES.indexOf(role) <= MEMBER_ROLES.indexOf(wanted);
}
