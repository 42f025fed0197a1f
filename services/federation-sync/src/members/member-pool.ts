import type { Cluster } from '@flotilla/domain';
import type { ManagedEvent, MemberApplier, MemberObjectRef } from '@flotilla/kube';

export const MEMBER_POOL = Symbol('federation.member-pool');

export interface MemberPool {
  /** The live fleet (from ClusterFollower; Cluster from @flotilla/domain): creates, rebuilds (credentials rotated: spec/credential version changed) and closes appliers; credentials are loaded in batches through the registry's CredentialsReader.BatchGetClusterCredentials (CredentialsReaderClient in libs/clients), resolved with libs/kube resolveMember. */
  sync(clusters: Cluster[]): Promise<void>;
  applier(cluster: string): MemberApplier | undefined;
  /** The hash annotation the member last reported for this object (metadata-only watch), undefined when unknown or absent. */
  knownHash(cluster: string, ref: MemberObjectRef): string | undefined;
  /** The federated-object annotation the member last reported for this object (metadata-only watch), undefined when unknown or absent. */
  knownOwner(cluster: string, ref: MemberObjectRef): string | undefined;
  /** True once the first metadata list of every watched kind in that member has completed (until then knownHash is not authoritative). */
  synced(cluster: string): boolean;
  /** The kinds the controller places anywhere; watched in every member (only those it serves). */
  watchKinds(kinds: { apiVersion: string; kind: string }[]): void;
  /** A managed object changed or vanished in a member (after the pool updated knownHash). The controller decides repair or report. */
  onMemberChange(listener: (cluster: string, e: ManagedEvent) => void): () => void;
  /** Total queued+in-flight requests per cluster (gauge). */
  queueDepths(): Map<string, number>;
  close(): Promise<void>;
}
