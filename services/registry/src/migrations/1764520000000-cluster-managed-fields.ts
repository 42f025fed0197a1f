import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Server-side apply of the Cluster resource (issue 16): clusters keep metadata.managedFields, who
 * owns which field paths (FieldsV1, as JSON). Existing clusters start with none, as an object
 * never applied.
 */
export class ClusterManagedFields1764520000000 implements MigrationInterface {
  name = 'ClusterManagedFields1764520000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE clusters ADD COLUMN managed_fields jsonb NOT NULL DEFAULT '[]'::jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE clusters DROP COLUMN managed_fields`);
  }
}
