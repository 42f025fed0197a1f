import { createDataSource, runMigrationsLocked } from '@flotilla/persistence';
import { postgresReadinessCheck, ServiceRuntime } from '@flotilla/service-kit';
import { RegistryConfig } from '../config';
import { REGISTRY_MIGRATIONS } from '../migrations';

const MIGRATION_LOCK_KEY = 0x6d696772; // "migr"

/** Opens the registry's database (migrating it unless MIGRATIONS_RUN=false), with readiness and shutdown. */
export async function openRegistryDatabase(config: RegistryConfig, runtime: ServiceRuntime, entities: Parameters<typeof createDataSource>[0]['entities']) {
  const db = createDataSource({ url: config.DATABASE_URL, entities, migrations: REGISTRY_MIGRATIONS, applicationName: 'flotilla-registry' });
  await db.initialize();
  if (config.MIGRATIONS_RUN === 'true') {
    // Replicas starting together take turns; the second finds nothing to do.
    const applied = await runMigrationsLocked(db, MIGRATION_LOCK_KEY);
    if (applied.length > 0) runtime.logger.info({ migrations: applied }, 'database migrations applied');
  }
  runtime.health.register(postgresReadinessCheck(db));
  runtime.shutdown.onClose('postgres', () => db.destroy());
  return db;
}
