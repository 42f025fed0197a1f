import { Column, Entity, PrimaryColumn } from 'typeorm';

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
