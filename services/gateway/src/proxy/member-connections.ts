import { isDeepStrictEqual } from 'node:util';
import type { Cluster } from '@flotilla/domain';
import type { RegistryClient } from '@flotilla/clients';
import { MemberTransport, type MemberAddressPolicy, type MemberTransportOptions, resolveMember } from '@flotilla/kube';
import type { ClusterMirror } from '../fleet/cluster-mirror';

export type CredentialSource = Pick<RegistryClient, 'getClusterCredentials'>;

interface Entry {
  uid: string;
  transport: Promise<MemberTransport>;
  /** Set once the promise has resolved: the request path then takes it without a microtask. */
  ready?: MemberTransport;
}

/**
 * One MemberTransport per member, built from the credentials the registry holds, fetched once and
 * kept in memory (never logged). Dropped, and its connections closed, when the cluster's spec,
 * annotations or generation change (a rotation bumps generation: the credentials are part of the
 * spec), when it is deleted or replaced (another uid), and when the member refuses them (401).
 */
export class MemberConnections {
  private readonly entries = new Map<string, Entry>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly credentials: CredentialSource,
    mirror: Pick<ClusterMirror, 'onChange'>,
    private readonly policy: MemberAddressPolicy,
    private readonly options: { allowProxyUrl?: boolean; transport?: Omit<MemberTransportOptions, 'policy'> } = {},
  ) {
    this.unsubscribe = mirror.onChange((name, before, after) => {
      if (!after || !before || connectionChanged(before, after)) this.drop(name);
    });
  }

  /** The transport of a cluster when it is built and current, else undefined (then call transport()). */
  ready(cluster: Cluster): MemberTransport | undefined {
    const cached = this.entries.get(cluster.metadata.name);
    return cached && cached.uid === (cluster.metadata.uid ?? '') ? cached.ready : undefined;
  }

  /** The transport of a cluster; concurrent first requests share one credentials fetch. */
  transport(cluster: Cluster): Promise<MemberTransport> {
    const name = cluster.metadata.name;
    const uid = cluster.metadata.uid ?? '';
    const cached = this.entries.get(name);
    if (cached && cached.uid === uid) return cached.transport;
    if (cached) this.drop(name);
    const transport = this.credentials.getClusterCredentials(name).then((stored) => {
      const resolved = resolveMember(cluster, stored, this.policy, { allowProxyUrl: this.options.allowProxyUrl ?? false });
      return new MemberTransport(resolved, { policy: this.policy, ...this.options.transport });
    });
    const entry: Entry = { uid, transport };
    this.entries.set(name, entry);
    transport.then(
      (t) => (entry.ready = t),
      () => {
        // A failed fetch is not cached: the next request tries again.
        if (this.entries.get(name) === entry) this.entries.delete(name);
      },
    );
    return transport;
  }

  /** Forgets a cluster's credentials and closes its connections (open streams end). */
  drop(name: string): void {
    const entry = this.entries.get(name);
    if (!entry) return;
    this.entries.delete(name);
    entry.transport.then(
      (t) => t.close(),
      () => undefined,
    );
  }

  get size(): number {
    return this.entries.size;
  }

  close(): void {
    this.unsubscribe();
    for (const name of [...this.entries.keys()]) this.drop(name);
  }
}

/** A change that can mean other credentials or another way to reach the member (status changes do not). */
function connectionChanged(before: Cluster, after: Cluster): boolean {
  return (
    before.metadata.uid !== after.metadata.uid ||
    before.metadata.generation !== after.metadata.generation ||
    !isDeepStrictEqual(before.spec, after.spec) ||
    !isDeepStrictEqual(before.metadata.annotations ?? {}, after.metadata.annotations ?? {})
  );
}
