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

  /**
   * The latest credential of this kind a user submitted that the credential door replaced with one
   * Flotilla made (the service-account path): HMAC-SHA256 only, never the value (SecretBox.fingerprint).
   */
  @Column({ name: 'superseded_key_id', type: 'text', nullable: true })
  supersededKeyId!: string | null;

  @Column({ name: 'superseded_fingerprint', type: 'bytea', nullable: true })
  supersededFingerprint!: Buffer | null;

  @Column({ name: 'superseded_at', type: 'timestamptz', nullable: true })
  supersededAt!: Date | null;
}
