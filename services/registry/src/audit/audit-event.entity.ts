import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One audit.k8s.io/v1 Event; the columns beside `event` are what queries filter and page on. */
@Entity({ name: 'audit_events' })
export class AuditEventEntity {
  @PrimaryColumn({ name: 'audit_id', type: 'text' })
  auditId!: string;

  @Column({ name: 'stage_timestamp', type: 'timestamptz' })
  stageTimestamp!: Date;

  @Column({ type: 'text' })
  username!: string;

  @Column({ type: 'text' })
  verb!: string;

  /** annotations['flotilla.io/cluster'] of a proxied request; null for Flotilla's own API. */
  @Column({ type: 'text', nullable: true })
  cluster!: string | null;

  /** responseStatus.code */
  @Column({ type: 'int', nullable: true })
  code!: number | null;

  @Column({ type: 'jsonb' })
  event!: Record<string, unknown>;
}
