import { Client } from 'pg';
import { createDataSource, runMigrations } from '@flotilla/persistence';
import { createTestDatabase, TestDatabase } from '@flotilla/testing';
import { REGISTRY_MIGRATIONS } from './index';

async function tables(url: string): Promise<string[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  const { rows } = await c.query<{ table_name: string }>(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`);
  await c.end();
  return rows.map((r) => r.table_name).filter((t) => t !== 'flotilla_migrations');
}

describe('registry migrations (real Postgres)', () => {
  let db: TestDatabase;
  beforeAll(async () => (db = await createTestDatabase()));
  afterAll(async () => db.drop());

  it('run up, down and up again, leaving the same schema', async () => {
    const ds = createDataSource({ url: db.url, entities: [], migrations: REGISTRY_MIGRATIONS, applicationName: 'migration-test' });
    await ds.initialize();
    try {
      expect(await runMigrations(ds)).toEqual(REGISTRY_MIGRATIONS.map((m) => m.name));
      const first = await tables(db.url);
      expect(first).toEqual(expect.arrayContaining(['cluster_changes', 'cluster_credentials', 'clusters', 'import_jobs', 'job_outbox']));
      expect(await runMigrations(ds)).toEqual([]);
      for (let i = 0; i < REGISTRY_MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: 'each' });
      expect(await tables(db.url)).toEqual([]);
      expect(await runMigrations(ds)).toEqual(REGISTRY_MIGRATIONS.map((m) => m.name));
      expect(await tables(db.url)).toEqual(first);
    } finally {
      await ds.destroy();
    }
  });
});
