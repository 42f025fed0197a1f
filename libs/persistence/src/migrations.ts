import { DataSource } from 'typeorm';

/** Runs the pending migrations; returns the names applied. */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const applied = await dataSource.runMigrations({ transaction: 'each' });
  return applied.map((m) => m.name);
}

/**
 * Runs the pending migrations under a session advisory lock, so replicas starting together
 * take turns (the second finds nothing to do). Returns the names applied.
 */
export async function runMigrationsLocked(dataSource: DataSource, lockKey: number): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [lockKey]);
    return await runMigrations(dataSource);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [lockKey]).catch(() => undefined);
    await runner.release();
  }
}
