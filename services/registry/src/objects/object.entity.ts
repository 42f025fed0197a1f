import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One stored object of the generic store: unique by (resource, namespace, name). */
@Entity({ name: 'objects' })
export class ObjectEntity {
  @PrimaryColumn({ type: 'uuid' })
  uid!: string;

  @Column({ type: 'text' })
  resource!: string;

  /** '' for cluster-scoped objects (so the unique key has no NULL in it). */
  @Column({ type: 'text', default: '' })
  namespace!: string;

  @Column({ type: 'text' })
  name!: string;

  /** From flotilla_object_revision, shared with the change log. Kept as a string: never a JS number. */
  @Column({ name: 'resource_version', type: 'bigint' })
  resourceVersion!: string;

  @Column({ type: 'bigint', default: 1 })
  generation!: string;

  /** The full object, with the metadata the registry set. */
  @Column({ type: 'jsonb' })
  object!: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
