import { MigrationInterface, QueryRunner } from 'typeorm';

/** Import and removal job records (issue 4). No foreign key: a removal's record outlives its cluster. */
export class ImportJobs1764100000000 implements MigrationInterface {
  name = 'ImportJobs1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE import_jobs (
        name text PRIMARY KEY,
        type text NOT NULL CHECK (type IN ('import', 'remove')),
        cluster_name text NOT NULL,
        cluster_uid uuid NOT NULL,
        state text NOT NULL CHECK (state IN ('Pending', 'Running', 'Succeeded', 'Failed')),
        step text NOT NULL DEFAULT '',
        percent int NOT NULL DEFAULT 0 CHECK (percent BETWEEN 0 AND 100),
        message text NOT NULL DEFAULT '',
        steps jsonb NOT NULL DEFAULT '[]',
        orphans jsonb NOT NULL DEFAULT '[]',
        warnings jsonb NOT NULL DEFAULT '[]',
        start_time timestamptz NULL,
        completion_time timestamptz NULL,
        resource_version bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX import_jobs_cluster_name_idx ON import_jobs (cluster_name, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE import_jobs`);
  }
}
