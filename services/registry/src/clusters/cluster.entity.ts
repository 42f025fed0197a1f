import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { ClusterSpec, ClusterStatus } from '@flotilla/domain';

/** A cluster record. Credentials live apart, encrypted, in cluster_credentials. */
@Entity({ name: 'clusters' })
export class ClusterEntity {
  @PrimaryColumn({ type: 'uuid' })
  uid!: string;

  @Column({ type: 'text', unique: true })
  name!: string;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  labels!: Record<string, string>;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  annotations!: Record<string, string>;

  @Column({ type: 'jsonb', default: () => "'[]'" })
  finalizers!: string[];

  /** From the flotilla_resource_version sequence; the API shows it as an opaque string. */
  @Column({ name: 'resource_version', type: 'bigint' })
  resourceVersion!: string;

  @Column({ type: 'bigint', default: 1 })
  generation!: string;

  @Column({ name: 'creation_timestamp', type: 'timestamptz' })
  creationTimestamp!: Date;

  @Column({ name: 'deletion_timestamp', type: 'timestamptz', nullable: true })
  deletionTimestamp!: Date | null;

  /** The spec without its write-only credentials. */
  @Column({ type: 'jsonb' })
  spec!: ClusterSpec;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  status!: ClusterStatus;
}

export type CredentialKind = 'kubeconfig' | 'token';

@Entity({ name: 'cluster_credentials' })
export class ClusterCredentialEntity {
  @PrimaryColumn({ name: 'cluster_uid', type: 'uuid' })
  clusterUid!: string;

  @PrimaryColumn({ type: 'text' })
  kind!: CredentialKind;

  @Column({ name: 'key_id', type: 'text' })
  keyId!: string;

  /** AES-256-GCM: iv | tag | ciphertext, bound to "<cluster uid>/<kind>". */
  @Column({ type: 'bytea' })
  ciphertext!: Buffer;

  @Column({ name: 'updated_at', type: 'timestamptz', default: () => 'now()' })
  updatedAt!: Date;
}

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** The change log behind WatchClusters: one row per write, in commit order. */
@Entity({ name: 'cluster_changes' })
export class ClusterChangeEntity {
  @PrimaryColumn({ name: 'resource_version', type: 'bigint' })
  resourceVersion!: string;

  @Column({ type: 'text' })
  type!: ChangeType;

  @Column({ name: 'cluster_uid', type: 'uuid' })
  clusterUid!: string;

  @Column({ type: 'text' })
  name!: string;

  /** The cluster as the API shows it (no credentials). */
  @Column({ type: 'jsonb' })
  object!: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
