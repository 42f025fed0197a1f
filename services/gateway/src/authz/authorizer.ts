import { FLOTILLA_IAM_GROUP, FleetRole, MEMBER_ROLES, MemberRole, Principal, matchesLabels } from '@flotilla/domain';
import { IamMirror, subjectKeysOf } from '../iam/iam-mirror';
import type { AccessRule } from './access-rule';
import { memberAllows } from './member-rules';
import { READ_VERBS } from './request-attributes';

export interface Decision {
  allowed: boolean;
  reason: string;
}

/** Cluster labels, live (the ClusterMirror of the fleet module implements it). */
export interface ClusterLabelSource {
  labelsOf(cluster: string): Record<string, string> | undefined;
  onLabelsChanged(listener: () => void): () => void;
}
export const CLUSTER_LABELS = Symbol('gateway.cluster-labels');

export interface FleetAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  name?: string;
}

const ADMIN_GROUP = 'admin.flotilla.io';
const AUTHORIZATION_GROUP = 'authorization.k8s.io';
const SELF_REVIEWS = new Set(['selfsubjectaccessreviews', 'selfsubjectrulesreviews']);
/** Federation's groups (issue 15): kubefed's types and scheduling, Flotilla's generic federated objects. */
const FEDERATION_GROUPS: ReadonlySet<string> = new Set(['types.kubefed.io', 'types.flotilla.io', 'scheduling.kubefed.io']);
const FEDERATION_WRITES: ReadonlySet<string> = new Set(['create', 'update', 'patch', 'delete']);
/** Member roles that may write federated objects (on every cluster their placement selects). */
const WRITER_RANK = MEMBER_ROLES.indexOf(MemberRole.editor);
const isFederation = (a: FleetAttributes) => FEDERATION_GROUPS.has(a.group) || (a.group === '' && a.resource === 'namespaces');
/** Past this many cached (principal, cluster) decisions the cache starts afresh: memory stays bounded whoever calls. */
const MAX_CACHED = 200_000;
const NONE = 'none' as const;

const allow = (reason: string): Decision => ({ allowed: true, reason });
const deny = (reason: string): Decision => ({ allowed: false, reason });

/** A principal's identity for the cache: user, token and groups (two requests with these equal decide alike). */
function principalKey(p: Principal): string {
  return `${p.via}\u0000${p.user}\u0000${p.tokenId ?? ''}\u0000${p.groups.join('\u0001')}`;
}

/**
 * Every authorisation decision of the gateway, made from memory (IamMirror + cluster labels).
 *
 * Fleet roles (GlobalRoleBindings to the built-in GlobalRoles) govern Flotilla's own API:
 * - the bootstrap admin token is always fleet-admin; fleet-admin may do everything;
 * - fleet-viewer may get, list and watch every Flotilla resource except the admin.flotilla.io
 *   group (key re-encryption and other operations); it never writes, so it cannot rotate
 *   credentials (PUT clusters/kubeconfig) nor mint tokens, and token secrets are never readable by
 *   anyone (they exist only in the answer to the POST that created them);
 * - everyone authenticated may: read discovery, /openapi.json and /docs (kubectl needs discovery
 *   to ask `auth can-i`); create SelfSubjectAccessReviews; read their own Tokens (the tokens
 *   route must then filter a list to them: see seesAllTokens); and, holding a member role on a
 *   cluster, get a kubeconfig for it (POST clusters/<name>/kubeconfig, POST kubeconfigs), which
 *   mints a token for themselves only.
 * Member roles (ClusterAccessBindings) govern access to members through the proxy; fleet-admin is
 * cluster-admin on every cluster, fleet-viewer has no member access.
 * Federation (federated kinds, ReplicaSchedulingPreferences, host namespaces): anyone holding a
 * member role may read them; anyone holding cluster-editor or cluster-admin somewhere may ask to
 * write them, and the federation routes then require that role on EVERY cluster the object's
 * placement selects (FederationWriteGuard). A member role on a cluster also reads its orphans.
 *
 * Member decisions are cached per (principal, cluster) and the whole cache is dropped on any change
 * of users, tokens, bindings (the mirror) or cluster labels, so a revoked binding or a relabelled
 * cluster takes effect on the next request.
 */
export class Authorizer {
  private cache = new Map<string, Map<string, MemberRole | typeof NONE>>();
  private cached = 0;
  private readonly unsubscribe: (() => void)[];

  constructor(
    private readonly mirror: IamMirror,
    private readonly labels: ClusterLabelSource,
  ) {
    const invalidate = () => this.invalidate();
    this.unsubscribe = [mirror.onChange(invalidate), labels.onLabelsChanged(invalidate)];
  }

  close(): void {
    for (const u of this.unsubscribe) u();
  }

  invalidate(): void {
    this.cache = new Map();
    this.cached = 0;
  }

  fleetRoles(p: Principal): Set<FleetRole> {
    if (isBootstrapAdmin(p)) return new Set([FleetRole.admin]);
    return this.mirror.fleetRoles(subjectKeysOf(p));
  }

  /** Flotilla's own API. */
  fleet(p: Principal, a: FleetAttributes): Decision {
    if (isBootstrapAdmin(p)) return allow('the bootstrap admin token is fleet-admin');
    const roles = this.fleetRoles(p);
    if (roles.has(FleetRole.admin)) return allow(`${FleetRole.admin} (GlobalRoleBinding)`);
    const read = READ_VERBS.has(a.verb);
    if (a.group === AUTHORIZATION_GROUP && SELF_REVIEWS.has(a.resource) && a.verb === 'create') return allow('anyone may review their own access');
    if (roles.has(FleetRole.viewer) && read && a.group !== ADMIN_GROUP) return allow(`${FleetRole.viewer} (GlobalRoleBinding) reads Flotilla's resources`);
    if (a.group === FLOTILLA_IAM_GROUP && a.resource === 'tokens' && !a.subresource && read) {
      if (a.name === undefined) return allow('anyone may list their own tokens (the list shows only theirs)');
      if (this.mirror.token(a.name)?.user === p.user) return allow('the token is the caller\'s own');
    }
    if (isFederation(a)) {
      const rules = this.mirror.accessRules(subjectKeysOf(p));
      if (read && rules.length > 0) return allow('a holder of a member role reads federated objects and host namespaces');
      if (FEDERATION_WRITES.has(a.verb) && !a.subresource && rules.some((r) => r.rank <= WRITER_RANK)) {
        return allow(`${MemberRole.editor} or ${MemberRole.admin} on some cluster may write federated objects (each write then needs it on every cluster its placement selects)`);
      }
    }
    if (read && a.group === 'cluster.kubesphere.io' && a.resource === 'clusters' && a.subresource === 'orphans' && a.name && this.memberRole(p, a.name)) {
      return allow(`a member role on cluster ${a.name} reads its orphans`);
    }
    if (a.verb === 'create' && a.group === 'cluster.kubesphere.io' && a.resource === 'clusters' && a.subresource === 'kubeconfig' && a.name) {
      const role = this.memberRole(p, a.name);
      if (role) return allow(`${role} on cluster ${a.name} may get a kubeconfig with a token of their own`);
    }
    if (a.verb === 'create' && a.group === FLOTILLA_IAM_GROUP && a.resource === 'kubeconfigs' && this.mirror.accessRules(subjectKeysOf(p)).length > 0) {
      return allow('a holder of a member role may get kubeconfigs for the clusters they can reach');
    }
    return deny(roles.has(FleetRole.viewer) ? `${FleetRole.viewer} only reads, and not ${ADMIN_GROUP}` : 'no fleet role (GlobalRoleBinding) grants it');
  }

  /** Non-resource paths of Flotilla's own API: discovery, OpenAPI, docs, version. */
  fleetPath(p: Principal, verb: string, path: string): Decision {
    if (isBootstrapAdmin(p) || this.fleetRoles(p).has(FleetRole.admin)) return allow('fleet-admin');
    if (verb === 'get' && /^\/(apis?(\/[^/]+){0,2}|openapi\.json|openapi(\/.*)?|docs(\/.*)?|version)$/.test(path)) return allow('discovery and API documentation are open to every authenticated user');
    return deny(`only fleet-admin may ${verb} ${path}`);
  }

  /** Whether a list of tokens shows every token (fleet roles) or only the caller's own. */
  seesAllTokens(p: Principal): boolean {
    const roles = this.fleetRoles(p);
    return roles.has(FleetRole.admin) || roles.has(FleetRole.viewer);
  }

  /** Strongest member role p holds on the cluster (fleet-admin => cluster-admin everywhere), or undefined. */
  memberRole(p: Principal, cluster: string): MemberRole | undefined {
    if (isBootstrapAdmin(p)) return MemberRole.admin;
    const key = principalKey(p);
    let perCluster = this.cache.get(key);
    const hit = perCluster?.get(cluster);
    if (hit !== undefined) return hit === NONE ? undefined : hit;
    const role = this.computeMemberRole(p, cluster);
    if (this.cached >= MAX_CACHED) this.invalidate();
    if (!perCluster || !this.cache.has(key)) this.cache.set(key, (perCluster = new Map()));
    perCluster.set(cluster, role ?? NONE);
    this.cached++;
    return role;
  }

  memberAllows(role: MemberRole, a: { verb: string; group: string; resource: string; subresource?: string }): boolean {
    return memberAllows(role, a);
  }

  private computeMemberRole(p: Principal, cluster: string): MemberRole | undefined {
    const keys = subjectKeysOf(p);
    if (this.mirror.hasFleetRole(keys, FleetRole.admin)) return MemberRole.admin;
    let best = MEMBER_ROLES.length;
    // Labels are read once, and only if a selector needs them.
    let labels: { of?: Record<string, string> } | undefined;
    const rules = this.mirror.accessRules(keys);
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      if (rule.rank >= best) continue;
      if (rule.clusters?.has(cluster) || (rule.selector && selects(rule, (labels ??= { of: this.labels.labelsOf(cluster) }).of))) best = rule.rank;
      if (best === 0) break;
    }
    return MEMBER_ROLES[best];
  }
}

/** A selector is evaluated against the cluster's live labels; an unknown cluster is selected by none. */
function selects(rule: AccessRule, labels: Record<string, string> | undefined): boolean {
  return !!rule.selector && labels !== undefined && matchesLabels(rule.selector, labels);
}

export function isBootstrapAdmin(p: Principal): boolean {
  return p.via === 'admin-token' && p.user === 'admin';
}
