import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Superseded credentials (issue 16): beside each stored credential, the keyed fingerprint
 * (HMAC-SHA256, 32 bytes) of the user's credential the door replaced with a lasting one Flotilla
 * made, so that re-applying the user's original file counts as no change. Never the value.
 */
export class SupersededCredentialFingerprints1764530000000 implements MigrationInterface {
  name = 'SupersededCredentialFingerprints1764530000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE cluster_credentials
        ADD COLUMN superseded_key_id text,
        ADD COLUMN superseded_fingerprint bytea CHECK (octet_length(superseded_fingerprint) = 32),
        ADD COLUMN superseded_at timestamptz,
        ADD CONSTRAINT cluster_credentials_superseded_whole CHECK ((superseded_fingerprint IS NULL) = (superseded_key_id IS NULL))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE cluster_credentials
        DROP CONSTRAINT cluster_credentials_superseded_whole,
        DROP COLUMN superseded_at,
        DROP COLUMN superseded_fingerprint,
        DROP COLUMN superseded_key_id`);
  }
}
