import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The generic object store and the audit store (issue 14). Objects and their change log share one
 * sequence of their own (flotilla_object_revision), handed out under a transaction-scoped advisory
 * lock so revisions are committed in order and a reader of the log never skips one.
 */
export class ObjectsAndAudit1764414000000 implements MigrationInterface {
  name = 'ObjectsAndAudit1764414000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SEQUENCE flotilla_object_revision AS bigint START 1`);
    await q.query(`
      CREATE TABLE objects (
        resource text NOT NULL,
        namespace text NOT NULL DEFAULT '',
        name text NOT NULL,
        uid uuid PRIMARY KEY,
        resource_version bigint NOT NULL,
        generation bigint NOT NULL DEFAULT 1,
        object jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT objects_key_unique UNIQUE (resource, namespace, name)
      )`);
    await q.query(`
      CREATE TABLE object_changes (
        revision bigint PRIMARY KEY,
        type text NOT NULL CHECK (type IN ('ADDED', 'MODIFIED', 'DELETED')),
        resource text NOT NULL,
        namespace text NOT NULL DEFAULT '',
        name text NOT NULL,
        object jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX object_changes_created_at_idx ON object_changes (created_at)`);
    await q.query(`CREATE INDEX object_changes_resource_idx ON object_changes (resource, revision)`);
    await q.query(`
      CREATE TABLE audit_events (
        audit_id text PRIMARY KEY,
        stage_timestamp timestamptz NOT NULL,
        username text NOT NULL,
        verb text NOT NULL,
        cluster text NULL,
        code int NULL,
        event jsonb NOT NULL
      )`);
    // Newest first, for every filter the query offers; the keyset (stage_timestamp, audit_id) pages them.
    await q.query(`CREATE INDEX audit_events_time_idx ON audit_events (stage_timestamp DESC, audit_id DESC)`);
    await q.query(`CREATE INDEX audit_events_user_idx ON audit_events (username, stage_timestamp DESC, audit_id DESC)`);
    await q.query(`CREATE INDEX audit_events_cluster_idx ON audit_events (cluster, stage_timestamp DESC, audit_id DESC)`);
    await q.query(`CREATE INDEX audit_events_verb_idx ON audit_events (verb, stage_timestamp DESC, audit_id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_events`);
    await q.query(`DROP TABLE object_changes`);
    await q.query(`DROP TABLE objects`);
    await q.query(`DROP SEQUENCE flotilla_object_revision`);
  }
}
