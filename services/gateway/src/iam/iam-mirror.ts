import type { StoredObject } from '@flotilla/clients';
import { ClusterAccessBinding, ErrorReason, FlotillaError, FleetRole, GlobalRoleBinding, IamResource, MEMBER_ROLES, Principal, Subject, User } from '@flotilla/domain';
import type { ChangeFeed, FeedEvent } from '../resources/change-feed';
import { AccessRule, accessRule } from '../authz/access-rule';
import { TokenRecord, tokenRecord } from '../auth/token-record';

/** The subject keys a principal answers to in a binding: its user, each group, and its token. */
export function subjectKeysOf(p: Principal): string[] {
  const keys = [`User:${p.user}`];
  for (const g of p.groups) keys.push(`Group:${g}`);
  if (p.tokenId) keys.push(`Token:${p.tokenId}`);
  return keys;
}

const subjectKey = (s: Subject) => `${s.kind}:${s.name}`;
const FOLLOWED = [IamResource.users, IamResource.tokens, IamResource.globalRoleBindings, IamResource.clusterAccessBindings] as const;
const FLEET_ROLES = new Set<string>([FleetRole.admin, FleetRole.viewer]);
const MEMBER_ROLE_SET = new Set<string>(MEMBER_ROLES);

/**
 * Everything authentication and authorisation read, held in memory and kept current by the
 * gateway's change feed (ADR 0031): users, token hashes, GlobalRoleBindings and
 * ClusterAccessBindings, the bindings indexed by subject so a decision touches only the bindings
 * naming the caller. No request ever waits on Postgres.
 *
 * Revocation: the feed applies a token's DELETE here, and the next request presenting it is
 * refused. The writer's replica awaits ChangeFeed.caughtUp(revision) before answering the DELETE,
 * so on that replica it is refused as soon as the client sees the 200.
 *
 * Objects are applied only when newer than what is held (the feed may repeat a change already in a
 * SYNC). A malformed object is held as absent: it grants nothing and never breaks the feed.
 */
export class IamMirror {
  private readonly versions = new Map<string, bigint>();
  private readonly users = new Map<string, User>();
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly fleetBindings = new Map<string, { roles: FleetRole[]; subjects: string[] }>();
  private readonly accessBindings = new Map<string, { rule: AccessRule; subjects: string[] }>();
  private readonly fleetIndex = new Map<string, Set<string>>();
  private readonly accessIndex = new Map<string, Set<string>>();
  /** Derived from the indexes for each subject touched by a change: what a decision reads, as plain arrays (no iteration of Sets on the hot path). */
  private readonly fleetRolesBySubject = new Map<string, FleetRole[]>();
  private readonly rulesBySubject = new Map<string, AccessRule[]>();
  private readonly listeners = new Set<() => void>();
  private unfollow?: () => void;
  private bulk = false;
  private syncedOnce = false;
  private readonly synced: Promise<void>;
  private markSynced!: () => void;
  /** Bumped on every applied event; caches compare it. */
  generation = 0;

  constructor(private readonly feed: ChangeFeed) {
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
  }

  start(): void {
    this.unfollow ??= this.feed.follow(FOLLOWED, (event) => this.apply(event));
  }

  stop(): void {
    this.unfollow?.();
    this.unfollow = undefined;
  }

  get isSynced(): boolean {
    return this.syncedOnce;
  }

  whenSynced(): Promise<void> {
    return this.synced;
  }

  /** Throws ServiceUnavailable until the first SYNC: deciding from an empty mirror would refuse everyone. */
  assertSynced(): void {
    if (!this.syncedOnce) {
      throw new FlotillaError(ErrorReason.ServiceUnavailable, 'the gateway is still loading users and tokens from the registry: retry in a few seconds', { retryAfterSeconds: 1 });
    }
  }

  token(name: string): TokenRecord | undefined {
    return this.tokens.get(name);
  }

  user(name: string): User | undefined {
    return this.users.get(name);
  }

  /** Fleet roles bound to any of these subject keys (see subjectKeysOf). */
  fleetRoles(keys: readonly string[]): Set<FleetRole> {
    const roles = new Set<FleetRole>();
    for (let i = 0; i < keys.length; i++) {
      const held = this.fleetRolesBySubject.get(keys[i]!);
      if (held) for (let j = 0; j < held.length; j++) roles.add(held[j]!);
    }
    return roles;
  }

  hasFleetRole(keys: readonly string[], role: FleetRole): boolean {
    for (let i = 0; i < keys.length; i++) if (this.fleetRolesBySubject.get(keys[i]!)?.includes(role)) return true;
    return false;
  }

  /**
   * ClusterAccessBindings naming any of these subject keys. A binding naming two of them (the user
   * and one of their groups) appears twice: harmless for "the strongest role", and cheaper than
   * removing duplicates on every decision.
   */
  accessRules(keys: readonly string[]): AccessRule[] {
    let rules: AccessRule[] | undefined;
    for (let i = 0; i < keys.length; i++) {
      const held = this.rulesBySubject.get(keys[i]!);
      if (held) rules = rules ? rules.concat(held) : held;
    }
    return rules ?? [];
  }

  /** Called after every applied event (users, tokens or bindings changed). Returns unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies one feed event; public so tests and benchmarks can drive the mirror without a feed. */
  apply(event: FeedEvent): void {
    if (event.type === 'SYNC') {
      this.clear();
      // Derived entries are computed once at the end rather than once per binding.
      this.bulk = true;
      for (const item of event.items) this.put(item);
      this.bulk = false;
      this.deriveFleet([...this.fleetIndex.keys()]);
      this.deriveAccess([...this.accessIndex.keys()]);
      if (!this.syncedOnce) {
        this.syncedOnce = true;
        this.markSynced();
      }
    } else {
      const { change } = event;
      const key = `${change.object.resource}/${change.object.name}`;
      const revision = BigInt(change.revision);
      const held = this.versions.get(key);
      if (held !== undefined && revision <= held) return;
      if (change.type === 'DELETED') {
        this.remove(change.object);
        // A tombstone: a repeated older change cannot bring a deleted token back (cleared by the next SYNC).
        this.versions.set(key, revision);
      } else this.put(change.object, revision);
    }
    this.generation++;
    for (const l of this.listeners) {
      try {
        l();
      } catch {
        // A listener's failure must not stop the feed (it would drop this follower).
      }
    }
  }

  private clear(): void {
    for (const m of [this.versions, this.users, this.tokens, this.fleetBindings, this.accessBindings, this.fleetIndex, this.accessIndex, this.fleetRolesBySubject, this.rulesBySubject]) {
      m.clear();
    }
  }

  private put(item: StoredObject, revision?: bigint): void {
    this.remove(item);
    const key = `${item.resource}/${item.name}`;
    this.versions.set(key, revision ?? safeBigInt(item.resourceVersion));
    const o = item.object;
    switch (item.resource) {
      case IamResource.users:
        this.users.set(item.name, o as unknown as User);
        return;
      case IamResource.tokens: {
        const record = tokenRecord(item.name, o);
        if (record) this.tokens.set(item.name, record);
        return;
      }
      case IamResource.globalRoleBindings: {
        const b = o as unknown as GlobalRoleBinding;
        const role = b.roleRef?.name;
        if (!FLEET_ROLES.has(role)) return;
        const subjects = subjectsOf(b.subjects);
        this.fleetBindings.set(item.name, { roles: [role as FleetRole], subjects });
        index(this.fleetIndex, subjects, item.name);
        this.deriveFleet(subjects);
        return;
      }
      case IamResource.clusterAccessBindings: {
        const b = o as unknown as ClusterAccessBinding;
        if (!MEMBER_ROLE_SET.has(b.role)) return;
        const subjects = subjectsOf(b.subjects);
        this.accessBindings.set(item.name, { rule: accessRule(item.name, b), subjects });
        index(this.accessIndex, subjects, item.name);
        this.deriveAccess(subjects);
        return;
      }
    }
  }

  private remove(item: StoredObject): void {
    this.versions.delete(`${item.resource}/${item.name}`);
    switch (item.resource) {
      case IamResource.users:
        this.users.delete(item.name);
        return;
      case IamResource.tokens:
        this.tokens.delete(item.name);
        return;
      case IamResource.globalRoleBindings: {
        const subjects = this.fleetBindings.get(item.name)?.subjects ?? [];
        unindex(this.fleetIndex, subjects, item.name);
        this.fleetBindings.delete(item.name);
        this.deriveFleet(subjects);
        return;
      }
      case IamResource.clusterAccessBindings: {
        const subjects = this.accessBindings.get(item.name)?.subjects ?? [];
        unindex(this.accessIndex, subjects, item.name);
        this.accessBindings.delete(item.name);
        this.deriveAccess(subjects);
        return;
      }
    }
  }

  private deriveFleet(subjects: string[]): void {
    if (this.bulk) return;
    for (const key of subjects) {
      const roles = new Set<FleetRole>();
      for (const name of this.fleetIndex.get(key) ?? []) for (const r of this.fleetBindings.get(name)?.roles ?? []) roles.add(r);
      if (roles.size > 0) this.fleetRolesBySubject.set(key, [...roles]);
      else this.fleetRolesBySubject.delete(key);
    }
  }

  private deriveAccess(subjects: string[]): void {
    if (this.bulk) return;
    for (const key of subjects) {
      const rules: AccessRule[] = [];
      for (const name of this.accessIndex.get(key) ?? []) {
        const rule = this.accessBindings.get(name)?.rule;
        if (rule) rules.push(rule);
      }
      // Strongest first, so a decision can stop at the first match of cluster-admin.
      rules.sort((a, b) => a.rank - b.rank);
      if (rules.length > 0) this.rulesBySubject.set(key, rules);
      else this.rulesBySubject.delete(key);
    }
  }
}

function safeBigInt(text: string): bigint {
  try {
    return BigInt(text);
  } catch {
    return 0n;
  }
}

function subjectsOf(subjects: unknown): string[] {
  if (!Array.isArray(subjects)) return [];
  return subjects
    .filter((s): s is Subject => typeof s === 'object' && s !== null && ['User', 'Group', 'Token'].includes((s as Subject).kind) && typeof (s as Subject).name === 'string')
    .map(subjectKey);
}

function index(idx: Map<string, Set<string>>, keys: string[], name: string): void {
  for (const k of keys) {
    let set = idx.get(k);
    if (!set) idx.set(k, (set = new Set()));
    set.add(name);
  }
}

function unindex(idx: Map<string, Set<string>>, keys: string[], name: string): void {
  for (const k of keys) {
    const set = idx.get(k);
    set?.delete(name);
    if (set?.size === 0) idx.delete(k);
  }
}
