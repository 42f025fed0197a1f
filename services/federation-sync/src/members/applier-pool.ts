import { type Cluster, ImportAnnotations } from '@flotilla/domain';
import { type ManagedEvent, type ManagedWatchHandle, MemberApplier, type MemberApplierOptions, type MemberAddressPolicy, type MemberObjectRef, type StoredCredentials, resolveMember } from '@flotilla/kube';
import type { CredentialsPort } from './member-credentials';
import type { MemberPool } from './member-pool';

type KindKey = { apiVersion: string; kind: string };

export interface ApplierPoolOptions {
  credentials: CredentialsPort;
  /** The member address policy (the same as health-probe's and the proxy's). */
  policy: MemberAddressPolicy;
  /** Accept a stored kubeconfig's proxy-url (FLOTILLA_ALLOW_PROXY_URL). */
  allowProxyUrl?: boolean;
  /** Per-member limits and bounds (concurrency, qps, timeoutMs, ...); the policy above is used. */
  applier?: Omit<MemberApplierOptions, 'policy'>;
  /** A member whose credentials could not be had is tried again at a sync after this long (default 10 s). */
  retryCredentialsMs?: number;
  now?(): number;
}

interface Member {
  name: string;
  /** What the applier was built from: a change rebuilds it (credentials rotated, context or TLS choice changed). */
  version: string;
  applier?: MemberApplier;
  watch?: ManagedWatchHandle;
  /** Hash annotation per managed object, from the metadata-only watch. */
  hashes: Map<string, string>;
  /** The federated-object annotation each watched object carries (who owns it, as the member says). */
  owners: Map<string, string>;
  /** Why there is no applier (credentials unreadable or refused by the address policy); never a credential. */
  failure?: string;
  failedAt?: number;
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** Objects are keyed by group (not version): the template's apps/v1 and a watch's apps/v1 name the same object. */
function refKey(ref: MemberObjectRef): string {
  return `${groupOf(ref.apiVersion)}|${ref.kind}|${ref.namespace ?? ''}|${ref.name}`;
}

function versionOf(c: Cluster): string {
  const a = c.metadata.annotations ?? {};
  return [c.metadata.uid ?? '', c.metadata.generation ?? '', a[ImportAnnotations.context] ?? '', a[ImportAnnotations.allowInsecureSkipTlsVerify] ?? ''].join('|');
}

/**
 * One MemberApplier per cluster of the fleet, Ready or not (a NotReady member's applies fail as
 * ClusterNotReady and are retried by the controller), with credentials read in batches from the
 * registry and a metadata-only watch of the watched kinds feeding the known hashes.
 */
export class ApplierPool implements MemberPool {
  private readonly members = new Map<string, Member>();
  private kinds: KindKey[] = [];
  private readonly listeners = new Set<(cluster: string, e: ManagedEvent) => void>();
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: ApplierPoolOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Serialised: a sync runs after the previous one finished. */
  sync(clusters: Cluster[]): Promise<void> {
    const run = this.chain.then(() => this.syncNow(clusters));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async syncNow(clusters: Cluster[]): Promise<void> {
    if (this.closed) return;
    const wanted = new Map(clusters.map((c) => [c.metadata.name, c]));
    for (const [name, m] of this.members) {
      if (!wanted.has(name)) {
        this.drop(m);
        this.members.delete(name);
      }
    }
    const retryMs = this.options.retryCredentialsMs ?? 10_000;
    const load = [...wanted.values()].filter((c) => {
      const m = this.members.get(c.metadata.name);
      if (!m || m.version !== versionOf(c)) return true;
      return !m.applier && this.now() - (m.failedAt ?? 0) >= retryMs;
    });
    if (load.length === 0) return;
    let credentials: Awaited<ReturnType<CredentialsPort['batch']>>;
    try {
      credentials = await this.options.credentials.batch(load.map((c) => c.metadata.name));
    } catch (error) {
      // The registry did not answer: members keep the applier they have; new ones wait for the next sync.
      const why = `the registry did not give the credentials: ${error instanceof Error ? error.message : String(error)}`;
      for (const c of load) if (!this.members.has(c.metadata.name)) this.members.set(c.metadata.name, { name: c.metadata.name, version: '', hashes: new Map(), owners: new Map(), failure: why, failedAt: this.now() });
      return;
    }
    if (this.closed) return;
    for (const c of load) this.build(c, credentials.get(c.metadata.name));
  }

  private build(c: Cluster, stored: StoredCredentials | { error: string } | undefined): void {
    const name = c.metadata.name;
    const old = this.members.get(name);
    if (old) this.drop(old);
    const member: Member = { name, version: versionOf(c), hashes: new Map(), owners: new Map() };
    this.members.set(name, member);
    if (!stored || 'error' in stored) {
      member.failure = stored ? `the stored credentials of ${name} cannot be opened: ${stored.error}` : `${name} has no stored credentials`;
      member.failedAt = this.now();
      return;
    }
    try {
      const kubeconfig = resolveMember(c, stored, this.options.policy, { allowProxyUrl: this.options.allowProxyUrl ?? false });
      member.applier = new MemberApplier(name, kubeconfig, { ...this.options.applier, policy: this.options.policy });
    } catch (error) {
      member.failure = error instanceof Error ? error.message : String(error);
      member.failedAt = this.now();
      return;
    }
    this.startWatch(member);
  }

  private startWatch(member: Member): void {
    if (!member.applier || member.watch || this.kinds.length === 0) return;
    member.watch = member.applier.watchManaged(this.kinds, (e) => this.onEvent(member, e));
  }

  private onEvent(member: Member, e: ManagedEvent): void {
    if (this.members.get(member.name) !== member) return;
    if (e.type === 'ADDED' || e.type === 'MODIFIED') {
      const key = refKey(e.ref);
      if (e.hash) member.hashes.set(key, e.hash);
      else member.hashes.delete(key);
      if (e.federatedObject) member.owners.set(key, e.federatedObject);
      else member.owners.delete(key);
    } else if (e.type === 'DELETED') {
      member.hashes.delete(refKey(e.ref));
      member.owners.delete(refKey(e.ref));
    }
    for (const l of this.listeners) {
      try {
        l(member.name, e);
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  private drop(m: Member): void {
    m.watch?.stop();
    m.applier?.close();
    m.watch = undefined;
    m.applier = undefined;
    m.hashes.clear();
    m.owners.clear();
  }

  applier(cluster: string): MemberApplier | undefined {
    return this.members.get(cluster)?.applier;
  }

  /** Why a cluster of the fleet has no applier (credentials unreadable, connection refused by policy), undefined otherwise. */
  unavailable(cluster: string): string | undefined {
    const m = this.members.get(cluster);
    return m && !m.applier ? m.failure : undefined;
  }

  knownHash(cluster: string, ref: MemberObjectRef): string | undefined {
    return this.members.get(cluster)?.hashes.get(refKey(ref));
  }

  knownOwner(cluster: string, ref: MemberObjectRef): string | undefined {
    return this.members.get(cluster)?.owners.get(refKey(ref));
  }

  synced(cluster: string): boolean {
    const m = this.members.get(cluster);
    if (!m?.applier) return false;
    if (this.kinds.length === 0) return true;
    return m.watch?.synced() ?? false;
  }

  watchKinds(kinds: KindKey[]): void {
    const unique = new Map(kinds.map((k) => [`${k.apiVersion}|${k.kind}`, { apiVersion: k.apiVersion, kind: k.kind }]));
    this.kinds = [...unique.values()];
    const watched = new Set(this.kinds.map((k) => `${groupOf(k.apiVersion)}|${k.kind}|`));
    for (const m of this.members.values()) {
      for (const key of m.hashes.keys()) if (!watched.has(key.slice(0, key.indexOf('|', key.indexOf('|') + 1) + 1))) {
        m.hashes.delete(key);
        m.owners.delete(key);
      }
    }
    for (const m of this.members.values()) {
      if (m.watch) m.watch.update(this.kinds);
      else this.startWatch(m);
    }
  }

  onMemberChange(listener: (cluster: string, e: ManagedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  queueDepths(): Map<string, number> {
    const out = new Map<string, number>();
    for (const m of this.members.values()) if (m.applier) out.set(m.name, m.applier.queueDepth());
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    for (const m of this.members.values()) this.drop(m);
    this.members.clear();
    this.listeners.clear();
  }
}
