import { MigrationInterface, QueryRunner } from 'typeorm';

/** Cluster events (issue 5): Ready transitions seen by health-probe. No foreign key: events outlive a removed cluster until pruned. */
export class ClusterEvents1764200000000 implements MigrationInterface {
  name = 'ClusterEvents1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE cluster_events (
        id bigserial PRIMARY KEY,
        name text NOT NULL UNIQUE,
        cluster_name text NOT NULL,
        cluster_uid text NOT NULL DEFAULT '',
        type text NOT NULL CHECK (type IN ('Normal', 'Warning')),
        reason text NOT NULL,
        message text NOT NULL DEFAULT '',
        condition_type text NOT NULL,
        from_status text NOT NULL,
        to_status text NOT NULL,
        event_time timestamptz NOT NULL,
        reporting_component text NOT NULL DEFAULT '',
        resource_version bigint NOT NULL
      )`);
    await q.query(`CREATE INDEX cluster_events_cluster_idx ON cluster_events (cluster_name, id DESC)`);
    await q.query(`CREATE INDEX cluster_events_time_idx ON cluster_events (event_time)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE cluster_events`);
  }
}
