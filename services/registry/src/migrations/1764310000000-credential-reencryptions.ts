import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Re-encryption runs (issue 12): moving every ciphertext of cluster_credentials to the current
 * key. One run in progress at a time (partial unique index); its progress survives restarts.
 */
export class CredentialReencryptions1764310000000 implements MigrationInterface {
  name = 'CredentialReencryptions1764310000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE credential_reencryptions (
        name text PRIMARY KEY,
        target_key_id text NOT NULL,
        phase text NOT NULL CHECK (phase IN ('Running', 'Succeeded', 'Failed')),
        rows_total bigint NOT NULL DEFAULT 0,
        rows_done bigint NOT NULL DEFAULT 0,
        message text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz
      )`);
    await q.query(`CREATE UNIQUE INDEX credential_reencryptions_one_running ON credential_reencryptions ((true)) WHERE phase = 'Running'`);
    await q.query(`CREATE INDEX credential_reencryptions_created_idx ON credential_reencryptions (created_at DESC)`);
    await q.query(`CREATE INDEX cluster_credentials_key_idx ON cluster_credentials (key_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX cluster_credentials_key_idx`);
    await q.query(`DROP TABLE credential_reencryptions`);
  }
}
