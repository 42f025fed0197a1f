import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SEQUENCE flotilla_resource_version AS bigint START 1`);
    await q.query(`
      CREATE TABLE clusters (
        uid uuid PRIMARY KEY,
        name text NOT NULL,
        labels jsonb NOT NULL DEFAULT '{}',
        annotations jsonb NOT NULL DEFAULT '{}',
        finalizers jsonb NOT NULL DEFAULT '[]',
        resource_version bigint NOT NULL,
        generation bigint NOT NULL DEFAULT 1,
        creation_timestamp timestamptz NOT NULL,
        deletion_timestamp timestamptz NULL,
        spec jsonb NOT NULL,
        status jsonb NOT NULL DEFAULT '{}',
        CONSTRAINT clusters_name_unique UNIQUE (name)
      )`);
    await q.query(`CREATE INDEX clusters_labels_idx ON clusters USING gin (labels)`);
    await q.query(`
      CREATE TABLE cluster_credentials (
        cluster_uid uuid NOT NULL REFERENCES clusters(uid) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('kubeconfig', 'token')),
        key_id text NOT NULL,
        ciphertext bytea NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (cluster_uid, kind)
      )`);
    await q.query(`
      CREATE TABLE cluster_changes (
        resource_version bigint PRIMARY KEY,
        type text NOT NULL CHECK (type IN ('ADDED', 'MODIFIED', 'DELETED')),
        cluster_uid uuid NOT NULL,
        name text NOT NULL,
        object jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX cluster_changes_created_at_idx ON cluster_changes (created_at)`);
    await q.query(`
      CREATE TABLE job_outbox (
        id bigserial PRIMARY KEY,
        job_name text NOT NULL,
        payload jsonb NOT NULL,
        idempotency_key text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        dispatched_at timestamptz NULL,
        attempts int NOT NULL DEFAULT 0,
        last_error text NULL,
        CONSTRAINT job_outbox_idempotency_key_unique UNIQUE (idempotency_key)
      )`);
    await q.query(`CREATE INDEX job_outbox_pending_idx ON job_outbox (id) WHERE dispatched_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE job_outbox`);
    await q.query(`DROP TABLE cluster_changes`);
    await q.query(`DROP TABLE cluster_credentials`);
    await q.query(`DROP TABLE clusters`);
    await q.query(`DROP SEQUENCE flotilla_resource_version`);
  }
}
