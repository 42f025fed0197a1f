import { Column, Entity, PrimaryColumn } from 'typeorm';

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
