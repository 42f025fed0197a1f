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

  /** metadata.managedFields (ManagedFieldsEntry[]): who owns which field paths (server-side apply); never a value. */
  @Column({ name: 'managed_fields', type: 'jsonb', default: () => "'[]'" })
  managedFields!: object[];

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
