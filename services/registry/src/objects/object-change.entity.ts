import { Column, Entity, PrimaryColumn } from 'typeorm';

export type ObjectChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** The change log of the object store: one row per write, in revision (= commit) order. */
@Entity({ name: 'object_changes' })
export class ObjectChangeEntity {
  @PrimaryColumn({ type: 'bigint' })
  revision!: string;

  @Column({ type: 'text' })
  type!: ObjectChangeType;

  @Column({ type: 'text' })
  resource!: string;

  @Column({ type: 'text', default: '' })
  namespace!: string;

  @Column({ type: 'text' })
  name!: string;

  /** The object after the write (DELETED: its last state). */
  @Column({ type: 'jsonb' })
  object!: Record<string, unknown>;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
